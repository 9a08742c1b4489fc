// The zstd streaming API (Debian: libzstd-dev, found through pkg-config).
#include <zstd.h>
