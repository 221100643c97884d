/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vhsw_cni.c - vhsw-cni, the CNI plugin (CNI spec 1.0.0; 0.3.x and 0.4.0
 * configs accepted) that attaches containers to vhswd.
 *
 * A container runtime runs it once per operation: the network config on
 * stdin, CNI_COMMAND (ADD, DEL, CHECK, VERSION), CNI_CONTAINERID, CNI_NETNS,
 * CNI_IFNAME, CNI_PATH in the environment; the result or a CNI error object
 * on stdout.  It talks to vhswd with the shared management client (ctl.h),
 * exactly as vhswctl does.
 *
 * Modes ("mode" in the config):
 *  - "kernel" (default): a kernel port whose interface is created inside
 *    CNI_NETNS as CNI_IFNAME; the "ipam" plugin named in the config (found
 *    in CNI_PATH) is run and its addresses and routes are configured in the
 *    namespace with iproute2.
 *  - "vhost-user": a port on the socket
 *    "socketDir"/<container id prefix>/<ifname>.sock, for the runtime to
 *    bind-mount; the container runs its DPDK app with
 *    --vdev virtio_user0,path=<socket>,mac=<mac from the result>, the MAC
 *    also being in <ifname>.mac beside the socket.  "vhostMode": "server"
 *    (default): vhswd listens on the socket, the app connects (and must
 *    connect again after a vhswd restart); "client": the app listens
 *    (virtio_user's server=1) and vhswd connects, again after every restart
 *    of either, so the container needs nothing after a vhswd restart.
 *
 * Port security ("portSecurity", default true): the port allows only the
 * MAC the container has (vhost-user: the one the plugin assigns, given to
 * `port add` as --mac, which makes it the port's allowed MAC; kernel: the
 * interface's, read in the namespace) and only the IPAM addresses in ARP
 * and neighbour discovery.  The interface exists only once the port does,
 * and IPAM runs after that (a DHCP IPAM needs the interface), so the
 * plugin sets these with `port set` once it knows them, before the
 * container runs.  false: `port add --allowed-macs any`, nothing checked.
 *
 * The switch port is named from a hash of (container id, ifname), so ports
 * of different containers, or of two interfaces of one, never collide and
 * DEL finds the port ADD made.  DEL is idempotent: a port, namespace or
 * daemon already gone is not an error.  ADD that fails leaves nothing behind.
 *
 * A kernel port's interface is a persistent TAP that outlives vhswd and is
 * attached again when vhswd restores the port (ethport.h), so a container
 * keeps its network across a restart; CHECK compares what is there with
 * prevResult and names everything missing.
 *
 * Single-threaded; exits with 0 on success, 1 with a CNI error on stdout.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl_client.h"

/* CNI error codes (spec 1.0.0, "Error"). */
enum {
	CNI_ERR_VERSION = 1,
	CNI_ERR_FIELD = 2,
	CNI_ERR_CONTAINER = 3,
	CNI_ERR_ENV = 4,
	CNI_ERR_IO = 5,
	CNI_ERR_DECODE = 6,
	CNI_ERR_CONFIG = 7,
	CNI_ERR_TRY_AGAIN = 11,
};

#define CNI_DEFAULT_SOCKET_DIR "/run/vhsw/containers"
#define CNI_SOCKET_MAX 107
#define CNI_MAX_STDIN (1u << 20)

static const char *const cni_versions[] = {
	"0.3.0", "0.3.1", "0.4.0", "1.0.0", NULL};

struct cni {
	/* Environment. */
	const char *command;
	const char *containerid;
	const char *netns;
	const char *ifname;
	const char *path;

	/* Network config. */
	json_t *conf;
	char *conf_text;
	const char *version;
	const char *ctl;
	const char *mode;
	const char *socket_dir;
	const char *socket_owner;
	const char *socket_perm;
	const char *vhost_mode; /* "server" or "client" */
	json_int_t mtu;
	json_int_t vlan;
	bool port_security;
	json_t *ipam;

	/* Derived. */
	bool vhost;
	char port[32];
	char mac[18];
	char sock_dir[256];
	char sock[256];
	char mac_file[256]; /* vhost-user: the MAC, for the container */
};

/* Prints a CNI error object and returns the exit status 1. */
static int __attribute__((format(printf, 4, 5))) cni_error(const struct cni *c,
	int code, const char *details, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	json_t *e;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e = json_pack("{s:s, s:i, s:s}", "cniVersion",
		c->version ? c->version : "1.0.0", "code", code, "msg", msg);
	if (details != NULL)
		json_object_set_new(e, "details", json_string(details));
	json_dumpf(e, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(e);
	return 1;
}

static bool
version_supported(const char *v)
{
	int i;

	for (i = 0; cni_versions[i] != NULL; i++)
		if (strcmp(cni_versions[i], v) == 0)
			return true;
	return false;
}

/* FNV-1a: a stable short name for (container id, ifname). */
static uint64_t
name_hash(const char *a, const char *b)
{
	uint64_t h = 14695981039346656037ULL;
	const char *p;

	for (p = a; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	h = (h ^ '/') * 1099511628211ULL;
	for (p = b; *p; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ULL;
	return h;
}

static int
read_stdin(struct cni *c)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap + 1);
	ssize_t n;

	if (buf == NULL)
		return -1;
	while ((n = read(STDIN_FILENO, buf + len, cap - len)) > 0) {
		len += (size_t)n;
		if (len == cap) {
			char *b;

			if (cap >= CNI_MAX_STDIN ||
				(b = realloc(buf, cap * 2 + 1)) == NULL) {
				free(buf);
				return -1;
			}
			buf = b;
			cap *= 2;
		}
	}
	buf[len] = '\0';
	c->conf_text = buf;
	return 0;
}

static const char *
conf_str(const struct cni *c, const char *key)
{
	return json_string_value(json_object_get(c->conf, key));
}

/* Reads and checks the network config.  0, or a printed error's status. */
static int
parse_conf(struct cni *c)
{
	static const char *const strs[] = {"ctl", "mode", "socketDir",
		"socketOwner", "socketPerm", "vhostMode", "name", "type", NULL};
	json_error_t jerr;
	json_t *v;
	int i;

	if (read_stdin(c) != 0)
		return cni_error(c, CNI_ERR_IO, NULL,
			"cannot read the network configuration from stdin");
	c->conf = json_loads(c->conf_text, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(c->conf))
		return cni_error(c, CNI_ERR_DECODE, jerr.text,
			"the network configuration is not a JSON object");
	v = json_object_get(c->conf, "cniVersion");
	if (!json_is_string(v))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"cniVersion is missing or not a string");
	c->version = json_string_value(v);
	if (!version_supported(c->version)) {
		const char *bad = c->version;

		c->version = "1.0.0";
		return cni_error(c, CNI_ERR_VERSION, NULL,
			"cniVersion %s is not supported (supported: 0.3.0, "
			"0.3.1, 0.4.0, 1.0.0)",
			bad);
	}
	for (i = 0; strs[i] != NULL; i++) {
		v = json_object_get(c->conf, strs[i]);
		if (v != NULL && !json_is_string(v))
			return cni_error(c, CNI_ERR_CONFIG, NULL,
				"config key \"%s\" must be a string", strs[i]);
	}
	if (conf_str(c, "name") == NULL || conf_str(c, "type") == NULL)
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config keys \"name\" and \"type\" are required");
	c->ctl = ctl_socket_path(conf_str(c, "ctl"));
	c->mode = conf_str(c, "mode") ? conf_str(c, "mode") : "kernel";
	if (strcmp(c->mode, "kernel") != 0 &&
		strcmp(c->mode, "vhost-user") != 0)
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"mode\" must be \"kernel\" or "
			"\"vhost-user\", not \"%s\"",
			c->mode);
	c->vhost = strcmp(c->mode, "vhost-user") == 0;
	c->vhost_mode =
		conf_str(c, "vhostMode") ? conf_str(c, "vhostMode") : "server";
	if (strcmp(c->vhost_mode, "server") != 0 &&
		strcmp(c->vhost_mode, "client") != 0)
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"vhostMode\" must be \"server\" (vhswd "
			"listens) or \"client\" (the container's app listens, "
			"virtio_user server=1), not \"%s\"",
			c->vhost_mode);
	if (strcmp(c->vhost_mode, "client") == 0 &&
		(conf_str(c, "socketOwner") || conf_str(c, "socketPerm")))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"socketOwner and socketPerm apply to \"vhostMode\": "
			"\"server\" only (in client mode the app creates the "
			"socket)");
	c->socket_dir = conf_str(c, "socketDir") ? conf_str(c, "socketDir")
						 : CNI_DEFAULT_SOCKET_DIR;
	c->socket_owner = conf_str(c, "socketOwner");
	c->socket_perm = conf_str(c, "socketPerm");
	v = json_object_get(c->conf, "mtu");
	if (v != NULL && !json_is_integer(v))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"mtu\" must be an integer");
	c->mtu = json_integer_value(v);
	v = json_object_get(c->conf, "vlan");
	if (v != NULL && !json_is_integer(v))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"vlan\" must be an integer");
	c->vlan = json_integer_value(v);
	v = json_object_get(c->conf, "portSecurity");
	if (v != NULL && !json_is_boolean(v))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"portSecurity\" must be true or false");
	c->port_security = v == NULL || json_is_true(v);
	c->ipam = json_object_get(c->conf, "ipam");
	if (c->ipam != NULL &&
		(!json_is_object(c->ipam) ||
			!json_is_string(json_object_get(c->ipam, "type"))))
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"config key \"ipam\" must be an object with a "
			"\"type\"");
	if (c->socket_dir[0] != '/')
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"socketDir must be an absolute path");
	return 0;
}

/* Reads the environment.  0, or a printed error's status. */
static int
parse_env(struct cni *c)
{
	uint64_t h;
	size_t room, pfx;

	c->containerid = getenv("CNI_CONTAINERID");
	c->netns = getenv("CNI_NETNS");
	c->ifname = getenv("CNI_IFNAME");
	c->path = getenv("CNI_PATH");
	if (c->containerid == NULL || c->containerid[0] == '\0')
		return cni_error(
			c, CNI_ERR_ENV, NULL, "CNI_CONTAINERID is not set");
	if (c->ifname == NULL || c->ifname[0] == '\0')
		return cni_error(c, CNI_ERR_ENV, NULL, "CNI_IFNAME is not set");
	if (strlen(c->ifname) >= IFNAMSIZ ||
		strpbrk(c->ifname, "/: ,=") != NULL)
		return cni_error(c, CNI_ERR_ENV, NULL,
			"CNI_IFNAME '%s' is not a valid interface name",
			c->ifname);
	if (strpbrk(c->containerid, "/\n") != NULL)
		return cni_error(c, CNI_ERR_ENV, NULL,
			"CNI_CONTAINERID contains '/' or a newline");
	if (c->netns != NULL && c->netns[0] == '\0')
		c->netns = NULL;
	if (strcmp(c->command, "DEL") != 0 && c->netns == NULL)
		return cni_error(c, CNI_ERR_ENV, NULL, "CNI_NETNS is not set");

	h = name_hash(c->containerid, c->ifname);
	snprintf(
		c->port, sizeof(c->port), "cni-%016llx", (unsigned long long)h);
	/* Locally administered unicast MAC from the same hash. */
	snprintf(c->mac, sizeof(c->mac), "02:%02x:%02x:%02x:%02x:%02x",
		(unsigned)(h >> 8) & 0xff, (unsigned)(h >> 16) & 0xff,
		(unsigned)(h >> 24) & 0xff, (unsigned)(h >> 32) & 0xff,
		(unsigned)(h >> 40) & 0xff);
	/* <socketDir>/<id prefix>/<ifname>.sock, under 108 bytes in all. */
	room = CNI_SOCKET_MAX - strlen(c->socket_dir) - 2 - strlen(c->ifname) -
		strlen(".sock");
	if ((ssize_t)room < 8 || strlen(c->socket_dir) > CNI_SOCKET_MAX)
		return cni_error(c, CNI_ERR_CONFIG, NULL,
			"socketDir %s is too long for unix socket paths (107 "
			"bytes)",
			c->socket_dir);
	pfx = strlen(c->containerid) < 12 ? strlen(c->containerid) : 12;
	if (pfx > room)
		pfx = room;
	snprintf(c->sock_dir, sizeof(c->sock_dir), "%s/%.*s", c->socket_dir,
		(int)pfx, c->containerid);
	if (snprintf(c->sock, sizeof(c->sock), "%s/%s.sock", c->sock_dir,
		    c->ifname) >= (int)sizeof(c->sock) ||
		snprintf(c->mac_file, sizeof(c->mac_file), "%s/%s.mac",
			c->sock_dir, c->ifname) >= (int)sizeof(c->mac_file))
		return cni_error(
			c, CNI_ERR_CONFIG, NULL, "socket path too long");
	return 0;
}

/* One management call.  Returns the result, or NULL with *status set. */
static json_t *
call(struct cni *c, const char *method, json_t *params, int *code, char *err,
	size_t errlen, bool *unreachable)
{
	struct ctl_client *cl = ctl_connect(c->ctl, err, errlen);
	enum ctl_call_status st;
	json_t *res = NULL;

	*unreachable = cl == NULL;
	*code = 0;
	if (cl == NULL)
		return NULL;
	st = ctl_call(cl, method, params, &res, code, err, errlen);
	ctl_close(cl);
	if (st == CTL_IO_ERROR)
		*unreachable = true;
	return st == CTL_OK ? res : NULL;
}

/*
 * Runs the IPAM plugin with 'command'.  Returns its result (ADD) or an empty
 * object; NULL with 'err' set (and *cni_code if the plugin gave one).
 */
static json_t *
run_ipam(struct cni *c, const char *command, int *cni_code, char *err,
	size_t errlen)
{
	const char *type = json_string_value(json_object_get(c->ipam, "type"));
	char exe[512], out[65536];
	int in_pipe[2], out_pipe[2], status;
	char *path, *dir, *save;
	size_t len = 0;
	json_t *res;
	ssize_t n;
	pid_t pid;

	*cni_code = CNI_ERR_IO;
	exe[0] = '\0';
	path = strdup(c->path ? c->path : "");
	for (dir = strtok_r(path, ":", &save); dir != NULL;
		dir = strtok_r(NULL, ":", &save)) {
		snprintf(exe, sizeof(exe), "%s/%s", dir, type);
		if (access(exe, X_OK) == 0)
			break;
		exe[0] = '\0';
	}
	free(path);
	if (exe[0] == '\0' || strchr(type, '/') != NULL) {
		snprintf(err, errlen,
			"IPAM plugin \"%s\" not found in CNI_PATH", type);
		*cni_code = CNI_ERR_CONFIG;
		return NULL;
	}
	if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid == 0) {
		dup2(in_pipe[0], STDIN_FILENO);
		dup2(out_pipe[1], STDOUT_FILENO);
		setenv("CNI_COMMAND", command, 1);
		execl(exe, type, (char *)NULL);
		_exit(127);
	}
	close(in_pipe[0]);
	close(out_pipe[1]);
	if (pid < 0) {
		close(in_pipe[1]);
		close(out_pipe[0]);
		snprintf(err, errlen, "fork: %s", strerror(errno));
		return NULL;
	}
	if (write(in_pipe[1], c->conf_text, strlen(c->conf_text)) < 0)
		(void)0; /* the plugin's answer says what went wrong */
	close(in_pipe[1]);
	while ((n = read(out_pipe[0], out + len, sizeof(out) - 1 - len)) > 0)
		len += (size_t)n;
	close(out_pipe[0]);
	out[len] = '\0';
	waitpid(pid, &status, 0);
	res = len ? json_loads(out, 0, NULL) : json_object();
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		json_t *m = json_object_get(res, "msg");

		if (json_is_integer(json_object_get(res, "code")))
			*cni_code = (int)json_integer_value(
				json_object_get(res, "code"));
		snprintf(err, errlen, "IPAM plugin %s %s failed: %.500s", type,
			command,
			json_is_string(m) ? json_string_value(m) : out);
		json_decref(res);
		return NULL;
	}
	if (res == NULL) {
		snprintf(err, errlen, "IPAM plugin %s gave no JSON result",
			type);
		*cni_code = CNI_ERR_DECODE;
	}
	return res;
}

/* Runs argv (iproute2) and waits.  0 or -1. */
static int
run_cmd(char *const argv[])
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		execvp(argv[0], argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
enter_netns(const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
		snprintf(err, errlen, "cannot enter network namespace %s: %s",
			path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* The interface's MAC in the current namespace, or "" */
static void
read_mac(const char *ifname, char *mac, size_t len)
{
	struct ifreq ifr = {0};
	unsigned char *a;
	int fd;

	mac[0] = '\0';
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) == 0) {
		a = (unsigned char *)ifr.ifr_hwaddr.sa_data;
		snprintf(mac, len, "%02x:%02x:%02x:%02x:%02x:%02x", a[0], a[1],
			a[2], a[3], a[4], a[5]);
	}
	close(fd);
}

/*
 * In the container's namespace: addresses and routes from the IPAM result,
 * and the interface's MAC.  0 or -1 with 'err' set.
 */
static int
configure_netns(struct cni *c, json_t *ipam_res, char *err, size_t errlen)
{
	json_t *ip, *rt;
	size_t i;

	if (enter_netns(c->netns, err, errlen) != 0)
		return -1;
	read_mac(c->ifname, c->mac, sizeof(c->mac));
	json_array_foreach(json_object_get(ipam_res, "ips"), i, ip)
	{
		const char *addr =
			json_string_value(json_object_get(ip, "address"));
		char *argv[] = {"ip", "addr", "add", (char *)addr, "dev",
			(char *)c->ifname, NULL};

		if (addr == NULL || run_cmd(argv) != 0) {
			snprintf(err, errlen, "cannot add address %s to %s",
				addr ? addr : "?", c->ifname);
			return -1;
		}
	}
	{
		char *argv[] = {
			"ip", "link", "set", (char *)c->ifname, "up", NULL};

		run_cmd(argv);
	}
	json_array_foreach(json_object_get(ipam_res, "routes"), i, rt)
	{
		const char *dst = json_string_value(json_object_get(rt, "dst"));
		const char *gw = json_string_value(json_object_get(rt, "gw"));

		/* No "gw": through the interface's gateway, as the bridge
		 * plugin does. */
		if (gw == NULL)
			gw = json_string_value(json_object_get(
				json_array_get(
					json_object_get(ipam_res, "ips"), 0),
				"gateway"));
		char *argv[] = {"ip", "route", "append", (char *)dst, "dev",
			(char *)c->ifname, gw ? "via" : NULL, (char *)gw, NULL};

		if (dst == NULL || run_cmd(argv) != 0) {
			snprintf(err, errlen, "cannot add route to %s",
				dst ? dst : "?");
			return -1;
		}
	}
	return 0;
}

/* Builds the result in the config's CNI version. */
static json_t *
result(const struct cni *c, json_t *ipam_res)
{
	json_t *iface, *ips = json_array(), *ip, *r;
	bool old = strcmp(c->version, "1.0.0") != 0;
	size_t i;

	iface = json_pack("{s:s, s:s}", "name", c->ifname, "mac", c->mac);
	if (c->netns != NULL)
		json_object_set_new(iface, "sandbox", json_string(c->netns));
	if (c->vhost)
		json_object_set_new(iface, "socketPath", json_string(c->sock));
	json_array_foreach(json_object_get(ipam_res, "ips"), i, ip)
	{
		json_t *o = json_deep_copy(ip);

		json_object_set_new(o, "interface", json_integer(0));
		if (old) {
			const char *a = json_string_value(
				json_object_get(o, "address"));

			json_object_set_new(o, "version",
				json_string(a && strchr(a, ':') ? "6" : "4"));
		} else {
			json_object_del(o, "version");
		}
		json_array_append_new(ips, o);
	}
	r = json_pack("{s:s, s:[o], s:o}", "cniVersion", c->version,
		"interfaces", iface, "ips", ips);
	if (json_object_get(ipam_res, "routes") != NULL)
		json_object_set(
			r, "routes", json_object_get(ipam_res, "routes"));
	json_object_set(r, "dns",
		json_object_get(ipam_res, "dns")
			? json_object_get(ipam_res, "dns")
			: json_object());
	json_object_set_new(r, "vhsw",
		json_pack("{s:s, s:s}", "port", c->port, "mode", c->mode));
	if (c->vhost) {
		json_object_set_new(json_object_get(r, "vhsw"), "socket",
			json_string(c->sock));
		json_object_set_new(json_object_get(r, "vhsw"), "socketDir",
			json_string(c->sock_dir));
		json_object_set_new(json_object_get(r, "vhsw"), "vhostMode",
			json_string(c->vhost_mode));
	}
	return r;
}

/*
 * Port security for what the container got (config "portSecurity"): its
 * MAC (kernel mode; a vhost-user port has it from --mac) and the IPAM
 * addresses, with `port set`.  0, or -1 with 'err' and *unreachable set.
 */
static int
secure_port(struct cni *c, json_t *ipam_res, char *err, size_t errlen,
	bool *unreachable)
{
	char ips[1024], why[512];
	json_t *params, *ip, *res;
	size_t n = 0, i;
	int code;

	*unreachable = false;
	if (!c->port_security)
		return 0;
	params = json_pack("{s:s}", "name", c->port);
	if (!c->vhost) {
		if (c->mac[0] == '\0') {
			snprintf(err, errlen,
				"port security: cannot read the MAC of %s in "
				"%s",
				c->ifname, c->netns);
			json_decref(params);
			return -1;
		}
		json_object_set_new(
			params, "allowed_macs", json_string(c->mac));
	}
	json_array_foreach(json_object_get(ipam_res, "ips"), i, ip)
	{
		const char *a =
			json_string_value(json_object_get(ip, "address"));
		size_t len = a != NULL ? strcspn(a, "/") : 0; /* no prefix */

		if (len == 0)
			continue;
		if (n + len + 2 > sizeof(ips)) {
			snprintf(err, errlen,
				"port security: too many IPAM addresses");
			json_decref(params);
			return -1;
		}
		n += (size_t)snprintf(ips + n, sizeof(ips) - n, "%s%.*s",
			n > 0 ? "," : "", (int)len, a);
	}
	if (n > 0)
		json_object_set_new(params, "allowed_ips", json_string(ips));
	if (json_object_size(params) == 1) {
		json_decref(params);
		return 0;
	}
	res = call(c, "port/set", params, &code, why, sizeof(why), unreachable);
	json_decref(params);
	if (res == NULL) {
		snprintf(err, errlen, "vhswd refused port security: %s", why);
		return -1;
	}
	json_decref(res);
	return 0;
}

/*
 * vhost-user: the MAC in <ifname>.mac beside the socket, for the
 * container's app (virtio_user's mac=).  0 or -1 with 'err' set.
 */
static int
write_mac_file(const struct cni *c, char *err, size_t errlen)
{
	char line[32];
	int fd, n;

	n = snprintf(line, sizeof(line), "%s\n", c->mac);
	fd = open(c->mac_file,
		O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0 || fchmod(fd, 0644) != 0 || write(fd, line, n) != n) {
		snprintf(err, errlen, "cannot write %s: %s", c->mac_file,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

static void
del_port(struct cni *c)
{
	json_t *p = json_pack("{s:s}", "name", c->port), *r;
	char err[512];
	bool unreachable;
	int code;

	r = call(c, "port/del", p, &code, err, sizeof(err), &unreachable);
	json_decref(r);
	json_decref(p);
}

static int
make_sock_dir(struct cni *c, char *err, size_t errlen)
{
	if (mkdir(c->socket_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", c->socket_dir,
			strerror(errno));
		return -1;
	}
	if (mkdir(c->sock_dir, 0755) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "cannot create %s: %s", c->sock_dir,
			strerror(errno));
		return -1;
	}
	return 0;
}

static int
cmd_add(struct cni *c)
{
	json_t *params, *res, *ipam_res = NULL, *out;
	char err[1024];
	bool unreachable;
	int code, ipam_code;

	params = json_pack("{s:s, s:s}", "name", c->port, "type", c->mode);
	if (c->mtu)
		json_object_set_new(params, "mtu", json_integer(c->mtu));
	if (c->vlan)
		json_object_set_new(params, "vlan", json_integer(c->vlan));
	if (c->vhost) {
		if (make_sock_dir(c, err, sizeof(err)) != 0) {
			json_decref(params);
			return cni_error(c, CNI_ERR_IO, NULL, "%s", err);
		}
		json_object_set_new(params, "socket", json_string(c->sock));
		json_object_set_new(params, "mode", json_string(c->vhost_mode));
		json_object_set_new(params, "mac", json_string(c->mac));
		if (c->socket_owner)
			json_object_set_new(
				params, "owner", json_string(c->socket_owner));
		if (c->socket_perm)
			json_object_set_new(
				params, "perm", json_string(c->socket_perm));
	} else {
		json_object_set_new(params, "ifname", json_string(c->ifname));
		json_object_set_new(params, "netns", json_string(c->netns));
	}
	if (!c->port_security)
		json_object_set_new(params, "allowed_macs", json_string("any"));
	res = call(
		c, "port/add", params, &code, err, sizeof(err), &unreachable);
	json_decref(params);
	if (res == NULL) {
		if (c->vhost)
			rmdir(c->sock_dir);
		if (unreachable)
			return cni_error(c, CNI_ERR_TRY_AGAIN, err,
				"vhswd is not reachable at %s", c->ctl);
		return cni_error(c, CNI_ERR_IO, NULL, "vhswd refused: %s", err);
	}
	json_decref(res);
	if (c->ipam != NULL) {
		ipam_res = run_ipam(c, "ADD", &ipam_code, err, sizeof(err));
		if (ipam_res == NULL) {
			del_port(c);
			if (c->vhost)
				rmdir(c->sock_dir);
			return cni_error(c, ipam_code, NULL, "%s", err);
		}
	}
	if ((!c->vhost &&
		    configure_netns(c, ipam_res, err, sizeof(err)) != 0) ||
		secure_port(c, ipam_res, err, sizeof(err), &unreachable) != 0 ||
		(c->vhost && write_mac_file(c, err, sizeof(err)) != 0)) {
		if (c->ipam != NULL)
			json_decref(run_ipam(c, "DEL", &ipam_code, err, 0));
		del_port(c);
		if (c->vhost) {
			unlink(c->mac_file);
			rmdir(c->sock_dir);
		}
		json_decref(ipam_res);
		return cni_error(c,
			unreachable ? CNI_ERR_TRY_AGAIN : CNI_ERR_IO, NULL,
			"%s", err);
	}
	out = result(c, ipam_res);
	json_dumpf(out, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(out);
	json_decref(ipam_res);
	return 0;
}

/*
 * Kernel mode: vhswd deletes the port's interface with the port; one it
 * no longer had (it was down, or restarted without the port) leaves a
 * persistent TAP in the namespace, deleted here.  Only a TAP: the tun
 * driver's (ethtool), which is what vhswd makes.
 */
static void
del_leftover_tap(struct cni *c)
{
	struct ethtool_drvinfo di = {.cmd = ETHTOOL_GDRVINFO};
	struct ifreq ifr = {0};
	char err[512];
	bool tap;
	int fd;

	if (c->vhost || c->netns == NULL ||
		enter_netns(c->netns, err, sizeof(err)) != 0)
		return;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->ifname);
	ifr.ifr_data = (void *)&di;
	tap = ioctl(fd, SIOCETHTOOL, &ifr) == 0 &&
		strcmp(di.driver, "tun") == 0 &&
		strcmp(di.bus_info, "tap") == 0;
	close(fd);
	if (tap) {
		char *argv[] = {
			"ip", "link", "del", "dev", (char *)c->ifname, NULL};

		run_cmd(argv);
	}
}

static int
cmd_del(struct cni *c)
{
	char err[1024];
	int ipam_code;

	/* Idempotent: a port, namespace or daemon already gone is fine. */
	del_port(c);
	if (c->ipam != NULL) {
		json_t *r = run_ipam(c, "DEL", &ipam_code, err, sizeof(err));

		if (r == NULL)
			return cni_error(c, ipam_code, NULL, "%s", err);
		json_decref(r);
	}
	if (c->vhost) {
		unlink(c->sock);
		unlink(c->mac_file);
		rmdir(c->sock_dir);
	}
	del_leftover_tap(c); /* last: it enters the container's namespace */
	return 0;
}

/* What CHECK found wrong, as one "; "-separated message. */
struct problems {
	char msg[2048];
	size_t len;
	int n;
};

static void __attribute__((format(printf, 2, 3)))
problem(struct problems *pb, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (pb->len + 3 >= sizeof(pb->msg))
		return;
	if (pb->n++ > 0) {
		memcpy(pb->msg + pb->len, "; ", 3);
		pb->len += 2;
	}
	va_start(ap, fmt);
	n = vsnprintf(pb->msg + pb->len, sizeof(pb->msg) - pb->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		pb->len += (size_t)n;
	if (pb->len >= sizeof(pb->msg))
		pb->len = sizeof(pb->msg) - 1;
}

/*
 * The index in prevResult's "interfaces" of CNI_IFNAME (in CNI_NETNS when
 * the entry names a sandbox), or -1.
 */
static int
prev_iface(const struct cni *c, json_t *prev)
{
	json_t *ifc;
	size_t i;

	json_array_foreach(json_object_get(prev, "interfaces"), i, ifc)
	{
		const char *name =
			json_string_value(json_object_get(ifc, "name"));
		const char *sb =
			json_string_value(json_object_get(ifc, "sandbox"));

		if (name != NULL && strcmp(name, c->ifname) == 0 &&
			(sb == NULL || c->netns == NULL ||
				strcmp(sb, c->netns) == 0))
			return (int)i;
	}
	return -1;
}

/* True if 'a' (ADDR/LEN) is one of the interface's addresses. */
static bool
has_address(struct ifaddrs *ifas, const char *ifname, const char *a)
{
	char want[INET6_ADDRSTRLEN + 8], have[INET6_ADDRSTRLEN];
	unsigned char buf[sizeof(struct in6_addr)];
	const char *slash = strchr(a, '/');
	struct ifaddrs *ifa;
	int family, plen;

	if (slash == NULL || (size_t)(slash - a) >= INET6_ADDRSTRLEN)
		return false;
	snprintf(want, sizeof(want), "%.*s", (int)(slash - a), a);
	family = strchr(want, ':') ? AF_INET6 : AF_INET;
	if (inet_pton(family, want, buf) != 1)
		return false;
	inet_ntop(family, buf, want, sizeof(want)); /* canonical */
	plen = atoi(slash + 1);
	for (ifa = ifas; ifa != NULL; ifa = ifa->ifa_next) {
		const void *addr, *mask;
		int bits = 0;
		size_t i, len;

		if (ifa->ifa_addr == NULL || ifa->ifa_netmask == NULL ||
			ifa->ifa_addr->sa_family != family ||
			strcmp(ifa->ifa_name, ifname) != 0)
			continue;
		if (family == AF_INET) {
			addr = &((struct sockaddr_in *)ifa->ifa_addr)->sin_addr;
			mask = &((struct sockaddr_in *)ifa->ifa_netmask)
					->sin_addr;
			len = 4;
		} else {
			addr = &((struct sockaddr_in6 *)ifa->ifa_addr)
					->sin6_addr;
			mask = &((struct sockaddr_in6 *)ifa->ifa_netmask)
					->sin6_addr;
			len = 16;
		}
		for (i = 0; i < len; i++)
			bits += __builtin_popcount(((const uint8_t *)mask)[i]);
		inet_ntop(family, addr, have, sizeof(have));
		if (strcmp(have, want) == 0 && bits == plen)
			return true;
	}
	return false;
}

/* True if the namespace has a route to 'dst' through 'ifname'. */
static bool
has_route(const char *ifname, const char *dst)
{
	char *argv[] = {"ip", "-o", strchr(dst, ':') ? "-6" : "-4", "route",
		"show", "exact", (char *)dst, "dev", (char *)ifname, NULL};
	char out[256];
	int fds[2], status;
	ssize_t n = 0;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return false;
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], STDOUT_FILENO);
		execvp(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	if (pid > 0)
		n = read(fds[0], out, sizeof(out));
	close(fds[0]);
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return false;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 && n > 0;
}

/*
 * Kernel mode, in the container's namespace: the interface with the MAC
 * of prevResult, the MTU, and prevResult's addresses and routes.
 */
static void
check_netns(struct cni *c, json_t *prev, uint32_t mtu, struct problems *pb)
{
	struct ifreq ifr = {0};
	struct ifaddrs *ifas = NULL;
	char err[512], mac[18];
	int idx = prev_iface(c, prev), fd;
	json_t *v;
	size_t i;

	if (enter_netns(c->netns, err, sizeof(err)) != 0) {
		problem(pb, "%s", err);
		return;
	}
	if (if_nametoindex(c->ifname) == 0) {
		problem(pb, "interface %s is missing in %s", c->ifname,
			c->netns);
		return;
	}
	read_mac(c->ifname, mac, sizeof(mac));
	v = json_object_get(json_array_get(json_object_get(prev, "interfaces"),
				    (size_t)idx),
		"mac");
	if (idx >= 0 && json_is_string(v) &&
		strcasecmp(json_string_value(v), mac) != 0)
		problem(pb, "interface %s in %s has MAC %s, not %s", c->ifname,
			c->netns, mac, json_string_value(v));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", c->ifname);
	if (mtu != 0 && fd >= 0 && ioctl(fd, SIOCGIFMTU, &ifr) == 0 &&
		(uint32_t)ifr.ifr_mtu != mtu)
		problem(pb, "interface %s in %s has MTU %d, not %u", c->ifname,
			c->netns, ifr.ifr_mtu, mtu);
	if (fd >= 0)
		close(fd);
	if (getifaddrs(&ifas) != 0) {
		problem(pb, "cannot read the addresses in %s: %s", c->netns,
			strerror(errno));
		return;
	}
	json_array_foreach(json_object_get(prev, "ips"), i, v)
	{
		const char *a =
			json_string_value(json_object_get(v, "address"));
		json_t *ii = json_object_get(v, "interface");

		if (a == NULL ||
			(json_is_integer(ii) && json_integer_value(ii) != idx))
			continue;
		if (!has_address(ifas, c->ifname, a))
			problem(pb, "interface %s in %s lacks address %s",
				c->ifname, c->netns, a);
	}
	freeifaddrs(ifas);
	json_array_foreach(json_object_get(prev, "routes"), i, v)
	{
		const char *dst = json_string_value(json_object_get(v, "dst"));

		if (dst != NULL && !has_route(c->ifname, dst))
			problem(pb, "%s lacks the route to %s through %s",
				c->netns, dst, c->ifname);
	}
}

/*
 * CHECK (spec 1.0.0): the container is still attached as ADD left it.
 * vhswd has the port (of this container's interface or socket, up); kernel
 * mode: the interface in the namespace with prevResult's MAC, the MTU,
 * prevResult's addresses and routes; vhost-user mode: the socket at its
 * path.  Then the IPAM plugin's CHECK.  Every finding in one error.
 */
static int
cmd_check(struct cni *c)
{
	json_t *p = json_pack("{s:s}", "name", c->port), *r, *prev;
	struct problems pb = {.n = 0};
	const char *state, *s;
	char err[1024];
	uint32_t mtu = 0;
	bool unreachable;
	struct stat st;
	int code;

	prev = json_object_get(c->conf, "prevResult");
	if (prev != NULL && !json_is_object(prev))
		return cni_error(c, CNI_ERR_DECODE, NULL,
			"prevResult must be an object (the result of ADD)");
	r = call(c, "port/show", p, &code, err, sizeof(err), &unreachable);
	json_decref(p);
	if (r == NULL && unreachable)
		return cni_error(c, CNI_ERR_TRY_AGAIN, err,
			"vhswd is not reachable at %s", c->ctl);
	if (r == NULL) {
		problem(&pb, "port %s of container %s is missing in vhswd (%s)",
			c->port, c->containerid, err);
	} else {
		state = json_string_value(json_object_get(r, "state"));
		if (state == NULL || strcmp(state, "up") != 0)
			problem(&pb, "port %s is down (%s)", c->port,
				!c->vhost ? "its interface is not attached"
					: strcmp(c->vhost_mode, "client") == 0
					? "vhswd is not connected to the app's "
					  "socket"
					: "no app is connected to its socket");
		mtu = (uint32_t)json_integer_value(json_object_get(r, "mtu"));
		if (c->vhost) {
			s = json_string_value(json_object_get(r, "socket"));
			if (s == NULL || strcmp(s, c->sock) != 0)
				problem(&pb, "port %s serves %s, not %s",
					c->port, s ? s : "no socket", c->sock);
		} else {
			s = json_string_value(json_object_get(r, "ifname"));
			if (s == NULL || strcmp(s, c->ifname) != 0)
				problem(&pb, "port %s is interface %s, not %s",
					c->port, s ? s : "(none)", c->ifname);
			s = json_string_value(json_object_get(r, "netns"));
			if (s == NULL || strcmp(s, c->netns) != 0)
				problem(&pb, "port %s is in %s, not %s",
					c->port, s ? s : "this namespace",
					c->netns);
		}
		json_decref(r);
	}
	if (c->mtu)
		mtu = (uint32_t)c->mtu;
	if (c->vhost) {
		if (lstat(c->sock, &st) != 0)
			problem(&pb, "socket %s is missing%s", c->sock,
				strcmp(c->vhost_mode, "client") == 0
					? " (the container's app creates it: "
					  "virtio_user server=1)"
					: "");
		else if (!S_ISSOCK(st.st_mode))
			problem(&pb, "%s is not a socket", c->sock);
	}
	if (c->ipam != NULL && prev != NULL) {
		int ipam_code;
		json_t *ir = run_ipam(c, "CHECK", &ipam_code, err, sizeof(err));

		if (ir == NULL)
			problem(&pb, "%s", err);
		json_decref(ir);
	}
	/* Last: it enters the container's namespace. */
	if (!c->vhost)
		check_netns(c, prev, mtu, &pb);
	if (pb.n > 0)
		return cni_error(c, CNI_ERR_IO, NULL, "%s", pb.msg);
	return 0;
}

static int
cmd_version(struct cni *c)
{
	json_t *v = json_pack("{s:s, s:[s, s, s, s]}", "cniVersion", "1.0.0",
		"supportedVersions", cni_versions[0], cni_versions[1],
		cni_versions[2], cni_versions[3]);

	json_dumpf(v, stdout, JSON_INDENT(2));
	fputc('\n', stdout);
	json_decref(v);
	return 0;
}

int
main(void)
{
	struct cni c = {0};
	int ret;

	c.command = getenv("CNI_COMMAND");
	if (c.command == NULL)
		return cni_error(&c, CNI_ERR_ENV, NULL,
			"CNI_COMMAND is not set: vhsw-cni is a CNI plugin, run "
			"by a container runtime");
	if (strcmp(c.command, "VERSION") == 0)
		return cmd_version(&c);
	if (strcmp(c.command, "ADD") != 0 && strcmp(c.command, "DEL") != 0 &&
		strcmp(c.command, "CHECK") != 0)
		return cni_error(&c, CNI_ERR_ENV, NULL,
			"CNI_COMMAND %s is not ADD, DEL, CHECK or VERSION",
			c.command);
	ret = parse_conf(&c);
	if (ret == 0)
		ret = parse_env(&c);
	if (ret == 0) {
		if (strcmp(c.command, "ADD") == 0)
			ret = cmd_add(&c);
		else if (strcmp(c.command, "DEL") == 0)
			ret = cmd_del(&c);
		else
			ret = cmd_check(&c);
	}
	json_decref(c.conf);
	free(c.conf_text);
	return ret;
}
