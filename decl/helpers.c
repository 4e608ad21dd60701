
/* ---- libnl-py helpers (declared in decl/helpers.h) ---- */
#include <errno.h>

static int lnp_setsockopt_int(int fd, int level, int name, int value)
{
    if (setsockopt(fd, level, name, &value, sizeof(value)) < 0)
        return -errno;
    return 0;
}

static int lnp_getsockopt_int(int fd, int level, int name, int *value)
{
    socklen_t len = sizeof(*value);
    if (getsockopt(fd, level, name, value, &len) < 0)
        return -errno;
    return 0;
}
