/* Helpers: see util.h. */
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void sim_errno_msg(char *err, size_t errlen, const char *what, const char *path)
{
    int saved = errno;
    char reason[128];
    /* XSI strerror_r (we build with _POSIX_C_SOURCE, not _GNU_SOURCE): strerror is not thread-safe. */
    if (strerror_r(saved, reason, sizeof reason) != 0)
        snprintf(reason, sizeof reason, "error %d", saved);
    snprintf(err, errlen, "%s %s: %s", what, path, reason);
}

char *sim_path_join(const char *dir, const char *rel)
{
    size_t dl = strlen(dir), rl = strlen(rel);
    char *p;
    if (rel[0] == '/')
        dl = 0;
    p = malloc(dl + 1 + rl + 1);
    if (!p)
        return NULL;
    if (dl) {
        memcpy(p, dir, dl);
        p[dl++] = '/';
    }
    memcpy(p + dl, rel, rl + 1);
    return p;
}

int sim_read_file(const char *path, char **buf, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    char *data = NULL;
    int rc = -1;

    if (fd < 0 || fstat(fd, &st) < 0) {
        sim_errno_msg(err, errlen, "cannot read", path);
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot read %s: not a regular file", path);
        goto done;
    }
    data = malloc((size_t)st.st_size + 1);
    if (!data) {
        snprintf(err, errlen, "cannot read %s: out of memory", path);
        goto done;
    }
    if (sim_pread_full(fd, data, (size_t)st.st_size, 0) < 0) {
        sim_errno_msg(err, errlen, "cannot read", path);
        goto done;
    }
    data[st.st_size] = '\0';
    *buf = data;
    *len = (size_t)st.st_size;
    data = NULL;
    rc = 0;
done:
    free(data);
    if (fd >= 0)
        close(fd);
    return rc;
}

int sim_pread_full(int fd, void *buf, size_t len, uint64_t off)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO; /* the file shrank since it was indexed */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

char *sim_buf_reserve(sim_buf *b, size_t n)
{
    if (b->failed)
        return NULL;
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap - b->len < n) {
            if (cap > SIZE_MAX / 2) {
                b->failed = 1;
                return NULL;
            }
            cap *= 2;
        }
        char *data = realloc(b->data, cap);
        if (!data) {
            b->failed = 1;
            return NULL;
        }
        b->data = data;
        b->cap = cap;
    }
    return b->data + b->len;
}

void sim_buf_append(sim_buf *b, const void *src, size_t n)
{
    char *dst = sim_buf_reserve(b, n);
    if (dst) {
        memcpy(dst, src, n);
        b->len += n;
    }
}

void sim_buf_puts(sim_buf *b, const char *s)
{
    sim_buf_append(b, s, strlen(s));
}

void sim_buf_printf(sim_buf *b, const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp)
        b->failed = 1; /* only used for short fragments such as numbers */
    else
        sim_buf_append(b, tmp, (size_t)n);
}
