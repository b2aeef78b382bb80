/* Small helpers shared by the simulator sources. */
#ifndef SIM_UTIL_H
#define SIM_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* err = "<what> <path>: <strerror(errno)>", thread-safe. */
void sim_errno_msg(char *err, size_t errlen, const char *what, const char *path);

/* "<dir>/<rel>", or rel itself when it is absolute. malloc'd, NULL when out of memory. */
char *sim_path_join(const char *dir, const char *rel);

/* Read a whole (small) file into a malloc'd NUL-terminated buffer. -1 with err set on failure. */
int sim_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen);

/* pread exactly len bytes at off; -1 on error or a short file. */
int sim_pread_full(int fd, void *buf, size_t len, uint64_t off);

/* A growable byte buffer. On allocation failure it sets `failed` and ignores further writes,
 * so builders can check once at the end instead of after every append. */
typedef struct sim_buf {
    char *data;
    size_t len, cap;
    int failed;
} sim_buf;

/* Make room for n more bytes; returns a pointer to write them at, or NULL. */
char *sim_buf_reserve(sim_buf *b, size_t n);
void sim_buf_append(sim_buf *b, const void *src, size_t n);
void sim_buf_puts(sim_buf *b, const char *s);
void sim_buf_printf(sim_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
