/* Loaded into a process that has loaded Qt, Tencent's library aborts that process inside dlopen
 * (glibc's "free(): invalid pointer", SIGABRT; see tests/reallib/README.md). The simulator does
 * the same, so a test or a code path that would load the SDK beside Qt fails here exactly as it
 * would with the real library. WECOM_SIM_ALLOW_QT=1 turns this off (the binding's own tests load
 * the simulator in the pytest-qt process on purpose).
 *
 * Qt is recognised by the C symbols every QtCore (Qt 4, 5 and 6) exports: qVersion and
 * qt_version_tag. A Python extension module is loaded RTLD_LOCAL, so its QtCore is not in the
 * global scope that dlsym(RTLD_DEFAULT) searches: each loaded object is also asked, through a
 * handle of its own (dlopen RTLD_NOLOAD), which searches it and its dependencies. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct names {
    char **v;
    size_t n, cap;
} names;

static int collect_name(struct dl_phdr_info *info, size_t size, void *data)
{
    names *list = data;
    (void)size;
    if (!info->dlpi_name || !info->dlpi_name[0])
        return 0; /* the main program and the vDSO have no name */
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 64;
        char **v = realloc(list->v, cap * sizeof *v);
        if (!v)
            return 1;
        list->v = v;
        list->cap = cap;
    }
    if ((list->v[list->n] = strdup(info->dlpi_name)))
        list->n++;
    return 0;
}

static int exports_qt(void *handle)
{
    int found = dlsym(handle, "qVersion") != NULL || dlsym(handle, "qt_version_tag") != NULL;
    dlerror(); /* a failed lookup leaves an error message behind: clear it */
    return found;
}

static int qt_is_loaded(void)
{
    names list = {0};
    int found = exports_qt(RTLD_DEFAULT);

    /* Names first, lookups after: no dlopen while dl_iterate_phdr holds the loader's lock. */
    if (!found)
        dl_iterate_phdr(collect_name, &list);
    for (size_t i = 0; i < list.n; i++) {
        if (!found) {
            void *handle = dlopen(list.v[i], RTLD_LAZY | RTLD_NOLOAD);
            if (handle) {
                found = exports_qt(handle);
                dlclose(handle);
            }
        }
        free(list.v[i]);
    }
    free(list.v);
    dlerror();
    return found;
}

__attribute__((constructor)) static void abort_beside_qt(void)
{
    static const char message[] = "free(): invalid pointer\n";
    const char *allow = getenv("WECOM_SIM_ALLOW_QT");

    if (allow && strcmp(allow, "1") == 0)
        return;
    if (qt_is_loaded()) {
        ssize_t written = write(STDERR_FILENO, message, sizeof message - 1);
        (void)written;
        abort();
    }
}
