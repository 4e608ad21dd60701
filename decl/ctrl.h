/* <netlink/genl/ctrl.h>: the nlctrl controller's resolvers. */

int genl_ctrl_alloc_cache(struct nl_sock *, struct nl_cache **);
struct genl_family *genl_ctrl_search(struct nl_cache *, int);
struct genl_family *genl_ctrl_search_by_name(struct nl_cache *, const char *);
int genl_ctrl_resolve(struct nl_sock *, const char *);
int genl_ctrl_resolve_grp(struct nl_sock *, const char *, const char *);
void nl_cache_free(struct nl_cache *);
