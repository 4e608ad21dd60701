/* C helpers written for libnl-py (source in decl/helpers.c). They exist where
 * libnl has no call for what the Python layer needs. */

/* setsockopt/getsockopt of an int option on a libnl socket's fd.
 * Return 0 (and, for get, the value in *value) or -errno. libnl has no call
 * for NETLINK_EXT_ACK, NETLINK_CAP_ACK and friends. */
int lnp_setsockopt_int(int fd, int level, int name, int value);
int lnp_getsockopt_int(int fd, int level, int name, int *value);
