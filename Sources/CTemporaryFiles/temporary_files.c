#define _GNU_SOURCE
#include "temporary_files.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#endif

int wk_open_unnamed(const char *directory, unsigned mode) {
    return open(directory, O_TMPFILE | O_RDWR | O_CLOEXEC, (mode_t)mode);
}

int wk_link_descriptor(int fd, const char *path) {
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", fd);
    return linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW);
}

int wk_rename_noreplace(const char *from, const char *to) {
#ifdef SYS_renameat2
    return (int)syscall(SYS_renameat2, AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE);
#else
    errno = ENOSYS;
    return -1;
#endif
}

// Slot states: 0 free, 1 being filled (the handler skips it), 2 a file, 3 a directory.
static _Atomic int slot_state[WK_CLEANUP_SLOTS];
static char slot_path[WK_CLEANUP_SLOTS][WK_CLEANUP_PATH_MAX];

static const int handled_signals[] = {SIGINT, SIGTERM, SIGHUP};
enum { handled_count = sizeof handled_signals / sizeof handled_signals[0] };
static struct sigaction previous_actions[handled_count];
// 0: not installed, 1: being installed, 2: installed.
static _Atomic int handlers_state;

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

// Removes the files directly inside `path`, then `path`, with system calls only (open,
// getdents64, unlinkat, close, rmdir: no allocation, so it is safe in a signal handler).
static void remove_flat_directory(const char *path) {
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        char buffer[4096] __attribute__((aligned(8)));
        for (;;) {
            long count = syscall(SYS_getdents64, fd, buffer, sizeof buffer);
            if (count <= 0) break;
            for (long position = 0; position < count;) {
                struct linux_dirent64 *entry = (struct linux_dirent64 *)(buffer + position);
                position += entry->d_reclen;
                const char *name = entry->d_name;
                if (name[0] == '.' && (name[1] == 0 || (name[1] == '.' && name[2] == 0))) continue;
                unlinkat(fd, name, 0);
            }
        }
        close(fd);
    }
    rmdir(path);
}

// Only async-signal-safe calls: unlink, the system calls above, sigaction, raise.
static void remove_temporaries(int signal_number) {
    int saved_errno = errno;
    for (int slot = 0; slot < WK_CLEANUP_SLOTS; slot++) {
        int state = atomic_load(&slot_state[slot]);
        if (state == 2) unlink(slot_path[slot]);
        else if (state == 3) remove_flat_directory(slot_path[slot]);
    }
    for (int index = 0; index < handled_count; index++) {
        if (handled_signals[index] == signal_number) sigaction(signal_number, &previous_actions[index], NULL);
    }
    atomic_store(&handlers_state, 0);
    // Delivered again once this handler returns, to the action that was there before.
    raise(signal_number);
    errno = saved_errno;
}

static void install_handlers(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&handlers_state, &expected, 1)) return;
    for (int index = 0; index < handled_count; index++) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = remove_temporaries;
        sigfillset(&action.sa_mask);
        action.sa_flags = SA_RESTART;
        struct sigaction old;
        if (sigaction(handled_signals[index], NULL, &old) != 0) continue;
        if (old.sa_handler == SIG_IGN || old.sa_handler == remove_temporaries) continue;
        previous_actions[index] = old;
        sigaction(handled_signals[index], &action, NULL);
    }
    atomic_store(&handlers_state, 2);
}

static int register_path(const char *path, int state) {
    size_t length = strlen(path);
    if (length >= WK_CLEANUP_PATH_MAX) return -1;
    install_handlers();
    for (int slot = 0; slot < WK_CLEANUP_SLOTS; slot++) {
        int expected = 0;
        if (!atomic_compare_exchange_strong(&slot_state[slot], &expected, 1)) continue;
        memcpy(slot_path[slot], path, length + 1);
        atomic_store(&slot_state[slot], state);
        return slot;
    }
    return -1;
}

int wk_cleanup_register(const char *path) { return register_path(path, 2); }

int wk_cleanup_register_directory(const char *path) { return register_path(path, 3); }

void wk_cleanup_unregister(int slot) {
    if (slot < 0 || slot >= WK_CLEANUP_SLOTS) return;
    atomic_store(&slot_state[slot], 0);
}
