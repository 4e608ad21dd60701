/* <netlink/genl/genl.h>, <netlink/genl/family.h>: generic netlink. */

int genl_connect(struct nl_sock *);
int genl_send_simple(struct nl_sock *, int, int, int, int);
void *genlmsg_put(struct nl_msg *, uint32_t, uint32_t, int, int, int, uint8_t, uint8_t);
int genlmsg_valid_hdr(struct nlmsghdr *, int);
struct genlmsghdr *genlmsg_hdr(struct nlmsghdr *);
void *genlmsg_data(const struct genlmsghdr *);
void *genlmsg_user_hdr(const struct genlmsghdr *);
int genlmsg_len(const struct genlmsghdr *);
struct nlattr *genlmsg_attrdata(const struct genlmsghdr *, int);
int genlmsg_attrlen(const struct genlmsghdr *, int);
int genlmsg_parse(struct nlmsghdr *, int, struct nlattr **, int, const struct nla_policy *);

struct genl_family *genl_family_alloc(void);
void genl_family_put(struct genl_family *);
unsigned int genl_family_get_id(struct genl_family *);
char *genl_family_get_name(struct genl_family *);
uint8_t genl_family_get_version(struct genl_family *);
uint32_t genl_family_get_hdrsize(struct genl_family *);
uint32_t genl_family_get_maxattr(struct genl_family *);
