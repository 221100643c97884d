/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * vfault.c - SIGBUS containment for peers' memory (see vfault.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "port.h"
#include "vfault.h"

/* Up to 8 memory regions and a dirty log per port. */
#define VFAULT_MAX_RANGES (VHSW_MAX_PORTS * 9)

struct vfault_range {
	uint32_t seq; /* odd while a writer changes the entry */
	uint32_t used;
	uintptr_t start;
	uintptr_t end;
	void *owner;
	uint32_t tag;
};

static struct vfault_range ranges[VFAULT_MAX_RANGES];

/* Files about to be mapped (vfault_expect): start = dev, end = inode. */
static struct vfault_range expected[VFAULT_MAX_RANGES];
static pthread_mutex_t vfault_lock = PTHREAD_MUTEX_INITIALIZER;
static vfault_hook_fn vfault_hook;
static struct sigaction vfault_old;
static uint64_t vfault_faults;

static void
entry_write__(struct vfault_range *r, uint32_t used, uintptr_t start,
	uintptr_t end, void *owner, uint32_t tag)
{
	__atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	__atomic_store_n(&r->start, start, __ATOMIC_RELAXED);
	__atomic_store_n(&r->end, end, __ATOMIC_RELAXED);
	__atomic_store_n(&r->owner, owner, __ATOMIC_RELAXED);
	__atomic_store_n(&r->tag, tag, __ATOMIC_RELAXED);
	__atomic_store_n(&r->used, used, __ATOMIC_RELAXED);
	__atomic_store_n(&r->seq, r->seq + 1, __ATOMIC_RELEASE);
}

/* Reads entry 'r' consistently; false if it is unused or being written. */
static bool
entry_read(struct vfault_range *r, struct vfault_range *out)
{
	uint32_t s1 = __atomic_load_n(&r->seq, __ATOMIC_ACQUIRE), s2;

	if (s1 & 1)
		return false;
	out->used = __atomic_load_n(&r->used, __ATOMIC_RELAXED);
	out->start = __atomic_load_n(&r->start, __ATOMIC_RELAXED);
	out->end = __atomic_load_n(&r->end, __ATOMIC_RELAXED);
	out->owner = __atomic_load_n(&r->owner, __ATOMIC_RELAXED);
	out->tag = __atomic_load_n(&r->tag, __ATOMIC_RELAXED);
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	s2 = __atomic_load_n(&r->seq, __ATOMIC_RELAXED);
	return s1 == s2 && out->used;
}

static void
say(const char *s)
{
	ssize_t n = write(STDERR_FILENO, s, strlen(s));

	(void)n;
}

/* Parses a hexadecimal number at *p; advances *p past it. */
static uint64_t
hex(const char **p, const char *end)
{
	uint64_t v = 0;
	int d;

	for (; *p < end; (*p)++) {
		char c = **p;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else
			break;
		v = v * 16 + (uint64_t)d;
	}
	return v;
}

static const char *
skip_field(const char *p, const char *end)
{
	while (p < end && *p != ' ')
		p++;
	while (p < end && *p == ' ')
		p++;
	return p;
}

/*
 * Finds the mapping that holds 'a' in /proc/self/maps: its range and the
 * (dev, inode) of its file.  Async-signal-safe (open, read, no stdio).
 */
static bool
maps_find(uintptr_t a, uintptr_t *start, uintptr_t *end, uint64_t *dev,
	uint64_t *ino)
{
	char buf[4096];
	size_t have = 0;
	bool found = false;
	ssize_t n;
	int fd;

	fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	while (!found && (n = read(fd, buf + have, sizeof(buf) - have)) > 0) {
		const char *p = buf, *lim = buf + have + n, *nl;

		while (!found && (nl = memchr(p, '\n', (size_t)(lim - p)))) {
			/* start-end perms offset major:minor inode path */
			const char *q = p;
			uint64_t s = hex(&q, nl), e, maj, min;

			q++;
			e = hex(&q, nl);
			if (a >= s && a < e) {
				q = skip_field(q, nl); /* to perms */
				q = skip_field(q, nl); /* to offset */
				q = skip_field(q, nl); /* to dev */
				maj = hex(&q, nl);
				q++;
				min = hex(&q, nl);
				q = skip_field(q, nl);
				*ino = 0;
				while (q < nl && *q >= '0' && *q <= '9')
					*ino = *ino * 10 +
						(uint64_t)(*q++ - '0');
				*start = s;
				*end = e;
				*dev = makedev(maj, min);
				found = true;
			}
			p = nl + 1;
		}
		have = (size_t)(lim - p);
		memmove(buf, p, have);
		if (have == sizeof(buf))
			have = 0; /* no line is that long; skip it */
	}
	close(fd);
	return found;
}

/* Replaces [start, end) with zero pages and reports it to the owner. */
static bool
contain(uintptr_t start, uintptr_t end, void *owner, uint32_t tag, uintptr_t a)
{
	if (mmap((void *)start, end - start, PROT_READ | PROT_WRITE,
		    MAP_FIXED | MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
		    0) == MAP_FAILED)
		return false;
	__atomic_fetch_add(&vfault_faults, 1, __ATOMIC_RELAXED);
	vfault_hook(owner, tag, a - start);
	return true;
}

static void
vfault_handler(int sig, siginfo_t *si, void *uc)
{
	uintptr_t a = (uintptr_t)si->si_addr, start, end;
	uint64_t dev, ino;
	struct vfault_range e;
	int i;

	for (i = 0; i < VFAULT_MAX_RANGES; i++) {
		if (!entry_read(&ranges[i], &e) || a < e.start || a >= e.end)
			continue;
		if (contain(e.start, e.end, e.owner, e.tag, a))
			return;
		break;
	}
	/* A table librte_vhost is applying: its mapping is not registered
	 * yet, but its file was announced. */
	if (i == VFAULT_MAX_RANGES && maps_find(a, &start, &end, &dev, &ino)) {
		for (i = 0; i < VFAULT_MAX_RANGES; i++) {
			if (!entry_read(&expected[i], &e) || e.start != dev ||
				e.end != ino)
				continue;
			if (contain(start, end, e.owner, VFAULT_TAG_NEW, a))
				return;
			break;
		}
	}
	/* Not a peer's memory: a bug of ours.  Fail as we would have. */
	say("vhswd: fatal SIGBUS outside any peer's memory\n");
	if ((vfault_old.sa_flags & SA_SIGINFO) &&
		vfault_old.sa_sigaction != NULL) {
		vfault_old.sa_sigaction(sig, si, uc);
		return;
	}
	if (vfault_old.sa_handler != SIG_DFL &&
		vfault_old.sa_handler != SIG_IGN) {
		vfault_old.sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL); /* the access faults again and kills us */
}

int
vfault_init(vfault_hook_fn hook)
{
	struct sigaction sa;

	if (hook == NULL)
		return -EINVAL;
	vfault_hook = hook;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = vfault_handler;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGBUS, &sa, &vfault_old) != 0)
		return -errno;
	return 0;
}

/* Puts an entry into a free slot of 't'.  0 or -ENOSPC. */
static int
table_put(struct vfault_range *t, uintptr_t start, uintptr_t end, void *owner,
	uint32_t tag)
{
	int i, ret = -ENOSPC;

	pthread_mutex_lock(&vfault_lock);
	for (i = 0; i < VFAULT_MAX_RANGES; i++) {
		if (!t[i].used) {
			entry_write__(&t[i], 1, start, end, owner, tag);
			ret = 0;
			break;
		}
	}
	pthread_mutex_unlock(&vfault_lock);
	return ret;
}

/* Frees every entry of 'owner' in 't'. */
static void
table_drop(struct vfault_range *t, void *owner)
{
	int i;

	pthread_mutex_lock(&vfault_lock);
	for (i = 0; i < VFAULT_MAX_RANGES; i++)
		if (t[i].used && t[i].owner == owner)
			entry_write__(&t[i], 0, 0, 0, NULL, 0);
	pthread_mutex_unlock(&vfault_lock);
}

int
vfault_add(void *owner, uint32_t tag, uintptr_t addr, size_t len, size_t align)
{
	uintptr_t end;

	if (align == 0)
		align = (size_t)sysconf(_SC_PAGESIZE);
	if (len == 0 || (align & (align - 1)) != 0 ||
		__builtin_add_overflow(addr, len, &end) ||
		__builtin_add_overflow(end, align - 1, &end))
		return -EINVAL;
	return table_put(ranges, addr & ~(uintptr_t)(align - 1),
		end & ~(uintptr_t)(align - 1), owner, tag);
}

void
vfault_remove(void *owner)
{
	table_drop(ranges, owner);
}

int
vfault_expect(void *owner, uint64_t dev, uint64_t ino)
{
	return table_put(expected, (uintptr_t)dev, (uintptr_t)ino, owner, 0);
}

void
vfault_expect_clear(void *owner)
{
	table_drop(expected, owner);
}

uint64_t
vfault_count(void)
{
	return __atomic_load_n(&vfault_faults, __ATOMIC_RELAXED);
}
