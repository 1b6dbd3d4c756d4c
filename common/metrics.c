/*
 * Metrics in one shared-memory file per process (design.md 11).
 *
 * A process maps METRICS_DIR/COMPONENT.PID.metrics, a fixed-size
 * struct m_file, and counts into it with relaxed atomic adds: no lock
 * and no system call on the request path.  A slot (one route, or one
 * named counter or gauge) is claimed once under a process-local mutex
 * and published with a release store of its state, so lookups may scan
 * without the lock.  Only the process that holds an exclusive flock on
 * a file writes to it.
 *
 * Counters never go down, so the file of a process that has exited
 * must keep counting.  Rather than let such files pile up (a FastCGI
 * manager may start and stop processes all day), a new process of the
 * same component adopts a dead one's file: it takes the lock, which the
 * kernel released when the owner died, zeroes the gauges and keeps
 * adding to the counters.  The directory therefore holds about as many
 * files as there were processes alive at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "metrics.h"

#define M_MAGIC		0x57534d31u	/* "WSM1" */
#define M_VERSION	1
#define M_ROUTES	64
#define M_NAMED		128
#define M_CLASSES	5		/* 1xx .. 5xx */
#define M_BUCKETS	11		/* ten bounds and +Inf */
#define M_ROUTE_LEN	96
#define M_METHOD_LEN	16
#define M_COMPONENT_LEN	48
#define M_NAME_LEN	64
#define M_LABELS_LEN	128
/* How many files metrics_render reads at most, to bound its work. */
#define M_RENDER_FILES	4096
/* How many name variants metrics_open tries when its own is taken. */
#define M_OPEN_TRIES	16

enum m_kind {
	M_COUNTER = 1,
	M_GAUGE = 2
};

struct m_route {
	uint32_t	 state;		/* 0 free, 1 published */
	uint32_t	 unused;
	char		 route[M_ROUTE_LEN];
	char		 method[M_METHOD_LEN];
	uint64_t	 status[M_CLASSES];
	uint64_t	 bucket[M_BUCKETS];	/* per bucket, not cumulative */
	uint64_t	 sum_us;
	uint64_t	 count;
};

struct m_named {
	uint32_t	 state;		/* 0 free, 1 published */
	uint32_t	 kind;		/* enum m_kind */
	char		 name[M_NAME_LEN];
	char		 labels[M_LABELS_LEN];
	int64_t		 value;
};

struct m_file {
	uint32_t	 magic;		/* written last, with release */
	uint32_t	 version;
	uint32_t	 size;		/* sizeof(struct m_file) */
	int32_t		 pid;		/* the owner, for liveness */
	char		 component[M_COMPONENT_LEN];
	int64_t		 start_time;	/* seconds since the epoch */
	struct m_route	 routes[M_ROUTES];
	struct m_named	 named[M_NAMED];
};

/* The upper bounds of the latency buckets, in seconds. */
static const double m_bounds[M_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5
};
static const char *const m_bound_names[M_BUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "+Inf"
};

static pthread_mutex_t	 m_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t	 m_once = PTHREAD_ONCE_INIT;
static struct m_file	*m_map;
static int		 m_fd = -1;

/*
 * A forked child must not write into its parent's file, whose owner
 * and lock are the parent's: it drops the mapping and may open its own.
 */
static void
m_atfork_child(void)
{
	if (m_map != NULL)
		munmap(m_map, sizeof(*m_map));
	m_map = NULL;
	if (m_fd != -1)
		close(m_fd);
	m_fd = -1;
	pthread_mutex_init(&m_lock, NULL);
}

static void
m_register_atfork(void)
{
	pthread_atfork(NULL, NULL, m_atfork_child);
}

/*
 * Whether s is a usable component name, and so a safe file name part;
 * no '.', which separates the parts of a file name.
 */
static int
m_component_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= M_COMPONENT_LEN - 1)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '-' || s[i] == '_'))
			return 0;
	}
	return 1;
}

/* Whether a file name is COMPONENT.<digits and dots>.metrics. */
static int
m_own_name(const char *name, const char *component)
{
	size_t	 cn = strlen(component), n = strlen(name), i;

	if (n <= cn + 1 + 8 || strncmp(name, component, cn) != 0 ||
	    name[cn] != '.' || strcmp(name + n - 8, ".metrics") != 0)
		return 0;
	for (i = cn + 1; i < n - 8; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || name[i] == '.'))
			return 0;
	return 1;
}

/* Creates dir and its parents as needed; 0 when it is a directory. */
static int
m_mkdirs(const char *dir)
{
	char		 path[4096];
	struct stat	 st;
	size_t		 i;
	int		 n;

	n = snprintf(path, sizeof(path), "%s", dir);
	if (n < 0 || (size_t)n >= sizeof(path))
		return WS_ERR_INVALID;
	for (i = 1; path[i] != '\0'; i++) {
		if (path[i] != '/')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0755) != 0 && errno != EEXIST)
			return WS_ERR_IO;
		path[i] = '/';
	}
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return WS_ERR_IO;
	if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
		return WS_ERR_IO;
	return 0;
}

/*
 * Takes over the file open on fd, which this process has locked: an
 * earlier owner's counters stay and its gauges are zeroed.  Anything
 * else is wiped and laid out afresh, unless adopt_only is set: a file
 * found while looking for one to adopt is left alone unless it is a
 * valid file of this very component.  Returns the mapping or NULL.
 */
static struct m_file *
m_take(int fd, const char *component, int adopt_only)
{
	struct m_file	*f;
	struct stat	 st;
	size_t		 i;
	int		 valid;

	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		return NULL;
	if ((size_t)st.st_size != sizeof(*f)) {
		if (adopt_only || ftruncate(fd, (off_t)sizeof(*f)) != 0)
			return NULL;
	}
	f = mmap(NULL, sizeof(*f), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
	    0);
	if (f == MAP_FAILED)
		return NULL;
	valid = (size_t)st.st_size == sizeof(*f) &&
	    __atomic_load_n(&f->magic, __ATOMIC_ACQUIRE) == M_MAGIC &&
	    f->version == M_VERSION && f->size == sizeof(*f) &&
	    strncmp(f->component, component, sizeof(f->component)) == 0;
	if (valid) {
		for (i = 0; i < M_NAMED; i++)
			if (f->named[i].kind == M_GAUGE)
				__atomic_store_n(&f->named[i].value, 0,
				    __ATOMIC_RELAXED);
	} else if (adopt_only) {
		munmap(f, sizeof(*f));
		return NULL;
	} else {
		__atomic_store_n(&f->magic, 0, __ATOMIC_RELEASE);
		memset((char *)f + sizeof(f->magic), 0,
		    sizeof(*f) - sizeof(f->magic));
		f->version = M_VERSION;
		f->size = sizeof(*f);
		snprintf(f->component, sizeof(f->component), "%s",
		    component);
	}
	f->start_time = (int64_t)time(NULL);
	__atomic_store_n(&f->pid, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&f->magic, M_MAGIC, __ATOMIC_RELEASE);
	return f;
}

/*
 * Looks in dir for a file of component whose owner is gone (its lock
 * is free) and takes it over.  Returns 0 and sets the globals, or
 * WS_ERR_NOTFOUND.
 */
static int
m_adopt(const char *dir, const char *component)
{
	DIR		*d;
	struct dirent	*de;
	struct m_file	*f;
	int		 fd, dfd, rc = WS_ERR_NOTFOUND;

	if ((d = opendir(dir)) == NULL)
		return WS_ERR_NOTFOUND;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		if (!m_own_name(de->d_name, component))
			continue;
		fd = openat(dfd, de->d_name, O_RDWR | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK);
		if (fd == -1)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
			close(fd);
			continue;
		}
		if ((f = m_take(fd, component, 1)) == NULL) {
			close(fd);
			continue;
		}
		m_fd = fd;
		__atomic_store_n(&m_map, f, __ATOMIC_RELEASE);
		rc = 0;
		break;
	}
	closedir(d);
	return rc;
}

/* Creates (or reclaims) COMPONENT.PID[.N].metrics in dir. */
static int
m_create(const char *dir, const char *component)
{
	struct m_file	*f;
	char		 path[4096];
	int		 fd = -1, i, n, rc = WS_ERR_CONFLICT;

	for (i = 0; i < M_OPEN_TRIES; i++) {
		if (i == 0)
			n = snprintf(path, sizeof(path), "%s/%s.%ld.metrics",
			    dir, component, (long)getpid());
		else
			n = snprintf(path, sizeof(path),
			    "%s/%s.%ld.%d.metrics", dir, component,
			    (long)getpid(), i);
		if (n < 0 || (size_t)n >= sizeof(path)) {
			rc = WS_ERR_INVALID;
			goto out;
		}
		fd = open(path, O_CREAT | O_RDWR | O_NOFOLLOW | O_CLOEXEC |
		    O_NONBLOCK, 0644);
		if (fd == -1) {
			rc = WS_ERR_IO;
			goto out;
		}
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		/* Taken: another process adopted a file of this name. */
		close(fd);
		fd = -1;
	}
	if (fd == -1)
		goto out;
	if ((f = m_take(fd, component, 0)) == NULL) {
		rc = WS_ERR_IO;
		goto out;
	}
	m_fd = fd;
	fd = -1;
	__atomic_store_n(&m_map, f, __ATOMIC_RELEASE);
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	return rc;
}

int
metrics_open(const char *dir, const char *component)
{
	int	 rc;

	if (dir == NULL || *dir == '\0' || !m_component_ok(component))
		return WS_ERR_INVALID;
	pthread_once(&m_once, m_register_atfork);
	metrics_close();
	if ((rc = m_mkdirs(dir)) != 0)
		return rc;
	pthread_mutex_lock(&m_lock);
	if (m_adopt(dir, component) != 0)
		rc = m_create(dir, component);
	pthread_mutex_unlock(&m_lock);
	return rc;
}

void
metrics_close(void)
{
	pthread_mutex_lock(&m_lock);
	if (m_map != NULL)
		munmap(m_map, sizeof(*m_map));
	__atomic_store_n(&m_map, NULL, __ATOMIC_RELEASE);
	/* Closing releases the lock; the file stays for its counters. */
	if (m_fd != -1)
		close(m_fd);
	m_fd = -1;
	pthread_mutex_unlock(&m_lock);
}

/*
 * The method as a label: the methods WebSands serves, else "OTHER", so
 * a client inventing methods cannot use up the route slots.
 */
static const char *
m_method(const char *method)
{
	static const char *const known[] = { "GET", "HEAD", "POST", "PUT",
	    "PATCH", "DELETE", "OPTIONS" };
	size_t	 i;

	for (i = 0; method != NULL && i < sizeof(known) / sizeof(known[0]);
	    i++)
		if (strcmp(method, known[i]) == 0)
			return known[i];
	return "OTHER";
}

/* Whether slot r is route and method (a route too long to keep is cut). */
static int
m_route_is(const struct m_route *r, const char *route, const char *method)
{
	return strncmp(r->route, route, sizeof(r->route) - 1) == 0 &&
	    strcmp(r->method, method) == 0;
}

/* The slot of route and method, claimed if new; NULL when full. */
static struct m_route *
m_route_slot(struct m_file *f, const char *route, const char *method)
{
	struct m_route	*r = NULL;
	size_t		 i;

	for (i = 0; i < M_ROUTES; i++) {
		r = &f->routes[i];
		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == 0)
			break;
		if (m_route_is(r, route, method))
			return r;
	}
	if (i == M_ROUTES)
		return NULL;
	/* Slots fill in order, so the rest is searched under the lock. */
	pthread_mutex_lock(&m_lock);
	for (; i < M_ROUTES; i++) {
		r = &f->routes[i];
		if (__atomic_load_n(&r->state, __ATOMIC_ACQUIRE) == 0) {
			snprintf(r->route, sizeof(r->route), "%s", route);
			snprintf(r->method, sizeof(r->method), "%s", method);
			__atomic_store_n(&r->state, 1, __ATOMIC_RELEASE);
			break;
		}
		if (m_route_is(r, route, method))
			break;
	}
	pthread_mutex_unlock(&m_lock);
	return i < M_ROUTES ? r : NULL;
}

void
metrics_request(const char *route, const char *method, int status,
    double seconds)
{
	struct m_file	*f;
	struct m_route	*r;
	size_t		 b, c;
	uint64_t	 us;

	if ((f = __atomic_load_n(&m_map, __ATOMIC_ACQUIRE)) == NULL)
		return;
	if ((r = m_route_slot(f, route != NULL ? route : "unmatched",
	    m_method(method))) == NULL)
		return;
	/* NaN and negative times count as zero; absurd ones are capped. */
	if (!(seconds >= 0))
		seconds = 0;
	if (seconds > 1e6)
		seconds = 1e6;
	for (b = 0; b < M_BUCKETS - 1 && seconds > m_bounds[b]; b++)
		continue;
	us = (uint64_t)(seconds * 1e6 + 0.5);
	c = status >= 100 && status <= 599 ? (size_t)(status / 100 - 1) :
	    M_CLASSES - 1;
	__atomic_fetch_add(&r->bucket[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->sum_us, us, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->count, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&r->status[c], 1, __ATOMIC_RELAXED);
}

/* Whether s is a Prometheus metric name that fits a slot. */
static int
m_name_ok(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return 0;
	for (i = 0; s[i] != '\0'; i++) {
		if (i >= M_NAME_LEN - 1)
			return 0;
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= '0' && s[i] <= '9') || s[i] == '_' ||
		    s[i] == ':'))
			return 0;
	}
	return 1;
}

/*
 * Whether s is a label list in exposition form, k="v",k2="v2", with
 * only \\, \" and \n escaped inside values, so it can be pasted into
 * the output as it is.
 */
static int
m_labels_ok(const char *s)
{
	const char	*p = s;

	if (strlen(s) >= M_LABELS_LEN)
		return 0;
	while (*p != '\0') {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    *p == '_'))
			return 0;
		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_')
			p++;
		if (p[0] != '=' || p[1] != '"')
			return 0;
		for (p += 2; *p != '"'; p++) {
			if (*p == '\0' || *p == '\n')
				return 0;
			if (*p == '\\') {
				p++;
				if (*p != '\\' && *p != '"' && *p != 'n')
					return 0;
			}
		}
		p++;
		if (*p == ',' && p[1] != '\0')
			p++;
		else if (*p != '\0')
			return 0;
	}
	return 1;
}

/*
 * The slot of name{labels} of the given kind, claimed if new; NULL when
 * the table is full, the name or labels are malformed, or the name is
 * already used with the other kind.
 */
static struct m_named *
m_named_slot(struct m_file *f, const char *name, const char *labels,
    uint32_t kind)
{
	struct m_named	*s = NULL;
	size_t		 i;
	int		 found = 0;

	for (i = 0; i < M_NAMED; i++) {
		s = &f->named[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 0)
			break;
		if (strcmp(s->name, name) == 0 &&
		    strcmp(s->labels, labels) == 0)
			return s->kind == kind ? s : NULL;
	}
	if (i == M_NAMED || !m_name_ok(name) || !m_labels_ok(labels))
		return NULL;
	pthread_mutex_lock(&m_lock);
	for (i = 0; i < M_NAMED; i++) {
		s = &f->named[i];
		if (__atomic_load_n(&s->state, __ATOMIC_ACQUIRE) == 0)
			break;
		if (strcmp(s->name, name) == 0 && s->kind != kind)
			break;
		if (strcmp(s->name, name) == 0 &&
		    strcmp(s->labels, labels) == 0) {
			found = 1;
			break;
		}
	}
	if (i < M_NAMED && !found && s->state == 0) {
		snprintf(s->name, sizeof(s->name), "%s", name);
		snprintf(s->labels, sizeof(s->labels), "%s", labels);
		s->kind = kind;
		s->value = 0;
		__atomic_store_n(&s->state, 1, __ATOMIC_RELEASE);
		found = 1;
	}
	pthread_mutex_unlock(&m_lock);
	return found && s->kind == kind ? s : NULL;
}

void
metrics_count(const char *name, const char *labels, long delta)
{
	struct m_file	*f;
	struct m_named	*s;

	/* A counter never goes down; zero still makes it appear. */
	if (delta < 0 || name == NULL)
		return;
	if ((f = __atomic_load_n(&m_map, __ATOMIC_ACQUIRE)) == NULL)
		return;
	if ((s = m_named_slot(f, name, labels != NULL ? labels : "",
	    M_COUNTER)) == NULL)
		return;
	__atomic_fetch_add(&s->value, (int64_t)delta, __ATOMIC_RELAXED);
}

void
metrics_gauge(const char *name, const char *labels, long value)
{
	struct m_file	*f;
	struct m_named	*s;

	if (name == NULL)
		return;
	if ((f = __atomic_load_n(&m_map, __ATOMIC_ACQUIRE)) == NULL)
		return;
	if ((s = m_named_slot(f, name, labels != NULL ? labels : "",
	    M_GAUGE)) == NULL)
		return;
	__atomic_store_n(&s->value, (int64_t)value, __ATOMIC_RELAXED);
}

/* Rendering: the sums over every file, then the text. */

struct agg_route {
	char		 component[M_COMPONENT_LEN];
	char		 route[M_ROUTE_LEN];
	char		 method[M_METHOD_LEN];
	uint64_t	 status[M_CLASSES];
	uint64_t	 bucket[M_BUCKETS];
	uint64_t	 sum_us;
};

struct agg_named {
	char		 name[M_NAME_LEN];
	char		 component[M_COMPONENT_LEN];
	char		 labels[M_LABELS_LEN];
	uint32_t	 kind;
	int64_t		 value;
};

struct agg_comp {
	char		 component[M_COMPONENT_LEN];
	long		 live;
};

struct agg {
	struct agg_route *routes;
	size_t		  nroutes, caproutes;
	struct agg_named *named;
	size_t		  nnamed, capnamed;
	struct agg_comp	 *comps;
	size_t		  ncomps, capcomps;
};

/* Makes room for one more element in *arr; 0 or WS_ERR_NOMEM. */
static int
agg_grow(void **arr, size_t *n, size_t *cap, size_t size)
{
	size_t	 ncap;
	void	*p;

	if (*n < *cap)
		return 0;
	ncap = *cap != 0 ? *cap * 2 : 16;
	if (ncap > SIZE_MAX / size)
		return WS_ERR_NOMEM;
	if ((p = realloc(*arr, ncap * size)) == NULL)
		return WS_ERR_NOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

/* Whether the fixed-size field s holds a NUL-terminated string. */
static int
m_terminated(const char *s, size_t n)
{
	return memchr(s, '\0', n) != NULL;
}

static int
agg_comp_add(struct agg *a, const char *component, int live)
{
	size_t	 i;
	int	 rc;

	for (i = 0; i < a->ncomps; i++)
		if (strcmp(a->comps[i].component, component) == 0)
			break;
	if (i == a->ncomps) {
		if ((rc = agg_grow((void **)&a->comps, &a->ncomps,
		    &a->capcomps, sizeof(*a->comps))) != 0)
			return rc;
		memset(&a->comps[i], 0, sizeof(a->comps[i]));
		snprintf(a->comps[i].component,
		    sizeof(a->comps[i].component), "%s", component);
		a->ncomps++;
	}
	a->comps[i].live += live;
	return 0;
}

static int
agg_route_add(struct agg *a, const char *component,
    const struct m_route *r)
{
	struct agg_route	*t;
	size_t			 i, j;
	int			 rc;

	if (!m_terminated(r->route, sizeof(r->route)) ||
	    !m_terminated(r->method, sizeof(r->method)))
		return 0;
	for (i = 0; i < a->nroutes; i++)
		if (strcmp(a->routes[i].component, component) == 0 &&
		    strcmp(a->routes[i].route, r->route) == 0 &&
		    strcmp(a->routes[i].method, r->method) == 0)
			break;
	if (i == a->nroutes) {
		if ((rc = agg_grow((void **)&a->routes, &a->nroutes,
		    &a->caproutes, sizeof(*a->routes))) != 0)
			return rc;
		t = &a->routes[i];
		memset(t, 0, sizeof(*t));
		snprintf(t->component, sizeof(t->component), "%s",
		    component);
		memcpy(t->route, r->route, sizeof(t->route));
		memcpy(t->method, r->method, sizeof(t->method));
		a->nroutes++;
	}
	t = &a->routes[i];
	for (j = 0; j < M_CLASSES; j++)
		t->status[j] += __atomic_load_n(&r->status[j],
		    __ATOMIC_RELAXED);
	for (j = 0; j < M_BUCKETS; j++)
		t->bucket[j] += __atomic_load_n(&r->bucket[j],
		    __ATOMIC_RELAXED);
	t->sum_us += __atomic_load_n(&r->sum_us, __ATOMIC_RELAXED);
	return 0;
}

static int
agg_named_add(struct agg *a, const char *component,
    const struct m_named *s, int live)
{
	struct agg_named	*t;
	size_t			 i;
	uint32_t		 kind = s->kind;
	int			 rc;

	if ((kind != M_COUNTER && kind != M_GAUGE) ||
	    !m_terminated(s->name, sizeof(s->name)) ||
	    !m_terminated(s->labels, sizeof(s->labels)) ||
	    !m_name_ok(s->name) || !m_labels_ok(s->labels))
		return 0;
	/* A gauge is a current value: only a live process has one. */
	if (kind == M_GAUGE && !live)
		return 0;
	for (i = 0; i < a->nnamed; i++)
		if (a->named[i].kind == kind &&
		    strcmp(a->named[i].name, s->name) == 0 &&
		    strcmp(a->named[i].component, component) == 0 &&
		    strcmp(a->named[i].labels, s->labels) == 0)
			break;
	if (i == a->nnamed) {
		if ((rc = agg_grow((void **)&a->named, &a->nnamed,
		    &a->capnamed, sizeof(*a->named))) != 0)
			return rc;
		t = &a->named[i];
		memset(t, 0, sizeof(*t));
		memcpy(t->name, s->name, sizeof(t->name));
		memcpy(t->labels, s->labels, sizeof(t->labels));
		snprintf(t->component, sizeof(t->component), "%s",
		    component);
		t->kind = kind;
		a->nnamed++;
	}
	a->named[i].value += __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	return 0;
}

/*
 * Whether the owner of the file on fd, whose header names pid, is
 * alive: the pid must exist and the file's lock must be held.  The
 * lock guards against a pid reused by an unrelated process.
 */
static int
m_live(int fd, pid_t pid)
{
	if (kill(pid, 0) != 0 && errno != EPERM)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		flock(fd, LOCK_UN);
		return 0;
	}
	return errno == EWOULDBLOCK;
}

/* Adds one file (dfd/name) to the sums; a bad file is skipped. */
static int
agg_file(struct agg *a, int dfd, const char *name)
{
	const struct m_file	*f = MAP_FAILED;
	struct stat		 st;
	char			 component[M_COMPONENT_LEN];
	pid_t			 pid;
	size_t			 i;
	int			 fd, live, rc = 0;

	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size != sizeof(*f))
		goto out;
	f = mmap(NULL, sizeof(*f), PROT_READ, MAP_SHARED, fd, 0);
	if (f == MAP_FAILED)
		goto out;
	if (__atomic_load_n(&f->magic, __ATOMIC_ACQUIRE) != M_MAGIC ||
	    f->version != M_VERSION || f->size != sizeof(*f))
		goto out;
	memcpy(component, f->component, sizeof(component));
	if (!m_terminated(component, sizeof(component)) ||
	    !m_component_ok(component))
		goto out;
	pid = __atomic_load_n(&f->pid, __ATOMIC_RELAXED);
	live = pid > 0 && m_live(fd, pid);
	if ((rc = agg_comp_add(a, component, live)) != 0)
		goto out;
	for (i = 0; i < M_ROUTES; i++) {
		if (__atomic_load_n(&f->routes[i].state,
		    __ATOMIC_ACQUIRE) != 1)
			break;
		if ((rc = agg_route_add(a, component, &f->routes[i])) != 0)
			goto out;
	}
	for (i = 0; i < M_NAMED; i++) {
		if (__atomic_load_n(&f->named[i].state,
		    __ATOMIC_ACQUIRE) != 1)
			break;
		if ((rc = agg_named_add(a, component, &f->named[i],
		    live)) != 0)
			goto out;
	}
out:
	if (f != MAP_FAILED)
		munmap((void *)(uintptr_t)f, sizeof(*f));
	if (fd != -1)
		close(fd);
	return rc;
}

static int
agg_route_cmp(const void *x, const void *y)
{
	const struct agg_route	*a = x, *b = y;
	int			 c;

	if ((c = strcmp(a->component, b->component)) != 0)
		return c;
	if ((c = strcmp(a->route, b->route)) != 0)
		return c;
	return strcmp(a->method, b->method);
}

static int
agg_named_cmp(const void *x, const void *y)
{
	const struct agg_named	*a = x, *b = y;
	int			 c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if ((c = strcmp(a->component, b->component)) != 0)
		return c;
	return strcmp(a->labels, b->labels);
}

static int
agg_comp_cmp(const void *x, const void *y)
{
	const struct agg_comp	*a = x, *b = y;

	return strcmp(a->component, b->component);
}

/* Appends to out unless an earlier append failed (*rc != 0). */
static void __attribute__((format(printf, 3, 4)))
m_emit(struct buf *out, int *rc, const char *fmt, ...)
{
	va_list	 ap;

	if (*rc != 0)
		return;
	va_start(ap, fmt);
	*rc = buf_vprintf(out, fmt, ap);
	va_end(ap);
}

/* Appends s as a label value: \\, \" and \n escaped. */
static void
m_label(struct buf *out, int *rc, const char *s)
{
	for (; *rc == 0 && *s != '\0'; s++) {
		if (*s == '\\')
			*rc = buf_puts(out, "\\\\");
		else if (*s == '"')
			*rc = buf_puts(out, "\\\"");
		else if (*s == '\n')
			*rc = buf_puts(out, "\\n");
		else
			*rc = buf_putc(out, *s);
	}
}

/* Appends component="..",route="..",method=".." for route series t. */
static void
m_route_labels(struct buf *out, int *rc, const struct agg_route *t)
{
	m_emit(out, rc, "component=\"");
	m_label(out, rc, t->component);
	m_emit(out, rc, "\",route=\"");
	m_label(out, rc, t->route);
	m_emit(out, rc, "\",method=\"");
	m_label(out, rc, t->method);
	m_emit(out, rc, "\"");
}

static void
m_render_requests(struct buf *out, int *rc, const struct agg *a)
{
	const struct agg_route	*t;
	uint64_t		 cum;
	size_t			 i, j;

	m_emit(out, rc, "# HELP websands_http_requests_total HTTP requests "
	    "answered, by route, method and status class.\n"
	    "# TYPE websands_http_requests_total counter\n");
	for (i = 0; i < a->nroutes; i++) {
		t = &a->routes[i];
		for (j = 0; j < M_CLASSES; j++) {
			if (t->status[j] == 0)
				continue;
			m_emit(out, rc, "websands_http_requests_total{");
			m_route_labels(out, rc, t);
			m_emit(out, rc, ",status=\"%zuxx\"} %" PRIu64 "\n",
			    j + 1, t->status[j]);
		}
	}
	m_emit(out, rc, "# HELP websands_http_request_duration_seconds "
	    "Time to answer an HTTP request.\n"
	    "# TYPE websands_http_request_duration_seconds histogram\n");
	for (i = 0; i < a->nroutes; i++) {
		t = &a->routes[i];
		cum = 0;
		for (j = 0; j < M_BUCKETS; j++) {
			cum += t->bucket[j];
			m_emit(out, rc, "websands_http_request_duration_"
			    "seconds_bucket{");
			m_route_labels(out, rc, t);
			m_emit(out, rc, ",le=\"%s\"} %" PRIu64 "\n",
			    m_bound_names[j], cum);
		}
		m_emit(out, rc, "websands_http_request_duration_seconds_sum{");
		m_route_labels(out, rc, t);
		m_emit(out, rc, "} %" PRIu64 ".%06" PRIu64 "\n",
		    t->sum_us / 1000000, t->sum_us % 1000000);
		/* The count is the +Inf bucket, so the two always agree. */
		m_emit(out, rc, "websands_http_request_duration_seconds_"
		    "count{");
		m_route_labels(out, rc, t);
		m_emit(out, rc, "} %" PRIu64 "\n", cum);
	}
}

static void
m_render_named(struct buf *out, int *rc, const struct agg *a)
{
	const struct agg_named	*t;
	const char		*prev = NULL, *type;
	uint32_t		 kind = 0;
	size_t			 i;

	for (i = 0; i < a->nnamed; i++) {
		t = &a->named[i];
		type = t->kind == M_COUNTER ? "counter" : "gauge";
		/* A name used as both kinds: the first kind wins. */
		if (prev != NULL && strcmp(prev, t->name) == 0 &&
		    kind != t->kind)
			continue;
		if (prev == NULL || strcmp(prev, t->name) != 0) {
			m_emit(out, rc, "# HELP %s WebSands %s, summed over "
			    "processes.\n# TYPE %s %s\n", t->name, type,
			    t->name, type);
			prev = t->name;
			kind = t->kind;
		}
		m_emit(out, rc, "%s{component=\"", t->name);
		m_label(out, rc, t->component);
		m_emit(out, rc, "\"%s%s} %" PRId64 "\n",
		    t->labels[0] != '\0' ? "," : "", t->labels, t->value);
	}
}

int
metrics_render(const char *dir, struct buf *out)
{
	struct agg	 a;
	DIR		*d = NULL;
	struct dirent	*de;
	size_t		 i, n, files = 0;
	int		 rc = WS_ERR_IO;

	memset(&a, 0, sizeof(a));
	if (dir == NULL || (d = opendir(dir)) == NULL)
		goto out;
	rc = 0;
	while (rc == 0 && files < M_RENDER_FILES &&
	    (de = readdir(d)) != NULL) {
		n = strlen(de->d_name);
		if (de->d_name[0] == '.' || n <= 8 ||
		    strcmp(de->d_name + n - 8, ".metrics") != 0)
			continue;
		files++;
		rc = agg_file(&a, dirfd(d), de->d_name);
	}
	if (rc != 0)
		goto out;
	if (a.nroutes > 0)
		qsort(a.routes, a.nroutes, sizeof(*a.routes), agg_route_cmp);
	if (a.nnamed > 0)
		qsort(a.named, a.nnamed, sizeof(*a.named), agg_named_cmp);
	if (a.ncomps > 0)
		qsort(a.comps, a.ncomps, sizeof(*a.comps), agg_comp_cmp);

	m_render_requests(out, &rc, &a);
	m_emit(out, &rc, "# HELP websands_processes Live processes of each "
	    "component.\n# TYPE websands_processes gauge\n");
	for (i = 0; i < a.ncomps; i++) {
		m_emit(out, &rc, "websands_processes{component=\"");
		m_label(out, &rc, a.comps[i].component);
		m_emit(out, &rc, "\"} %ld\n", a.comps[i].live);
	}
	m_render_named(out, &rc, &a);
out:
	if (d != NULL)
		closedir(d);
	free(a.routes);
	free(a.named);
	free(a.comps);
	return rc;
}
