#ifndef WEIGHTKIT_TEMPORARY_FILES_H
#define WEIGHTKIT_TEMPORARY_FILES_H

// The Linux calls behind WeightFormats' output files, which Swift's Glibc module does not
// export (O_TMPFILE, renameat2), and the one piece of process-wide state WeightKit has: the
// table of named temporaries that a SIGINT, SIGTERM or SIGHUP handler removes before the
// process dies. Signals are process-wide, so their cleanup table is too; nothing else is.

/// Opens an unnamed regular file in `directory` for writing (O_TMPFILE | O_RDWR | O_CLOEXEC).
/// Returns the descriptor, or -1 with errno (EOPNOTSUPP, EISDIR or EINVAL where the file
/// system or kernel has no O_TMPFILE).
int wk_open_unnamed(const char *directory, unsigned mode);

/// Gives the unnamed file `fd` the name `path` (linkat through /proc/self/fd/N with
/// AT_SYMLINK_FOLLOW). Fails with EEXIST when `path` exists: nothing is ever replaced.
int wk_link_descriptor(int fd, const char *path);

/// rename(2) that fails with EEXIST instead of replacing `to` (renameat2 RENAME_NOREPLACE).
int wk_rename_noreplace(const char *from, const char *to);

/// Maximum number of named temporaries registered at once; `wk_cleanup_register` returns -1
/// past it (the temporary is then not removed by a signal, only by the next run's sweep).
#define WK_CLEANUP_SLOTS 256
/// Longest path a slot holds (including its terminating NUL).
#define WK_CLEANUP_PATH_MAX 4096

/// Registers the file `path` to be removed if SIGINT, SIGTERM or SIGHUP
/// arrives, installing the handlers the first time (signals ignored at that moment stay
/// ignored). Returns the slot, or -1 when the table is full or the path too long.
/// Call it before the path is created.
int wk_cleanup_register(const char *path);

/// Registers a directory whose files (one level, no subdirectories) and then itself are
/// removed if SIGINT, SIGTERM or SIGHUP arrives. Returns the slot or -1, as above.
int wk_cleanup_register_directory(const char *path);

/// Forgets a slot: call it once the path is renamed into place or removed.
void wk_cleanup_unregister(int slot);

#endif
