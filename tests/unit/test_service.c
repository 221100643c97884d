/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_service.c - vhswd's service module (switch/daemon/service.h): the
 * journal decision and the priority mapping, the timestamped stderr lines,
 * the --state-dir lock, the removal of DPDK runtime directories of vhswd
 * processes that are gone, and sd_notify through a socket of the test's.
 */
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include <cmocka.h>
#include <rte_log.h>

#include "service.h"

static char tmpdir[64];

static int
setup(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/ut-service.XXXXXX");
	assert_non_null(mkdtemp(tmpdir));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_journal_stream_matches(void **state)
{
	assert_true(service_journal_stream_matches("12:34", 12, 34));
	assert_true(service_journal_stream_matches(
		"18446744073709551615:1", (dev_t)-1, 1));
	assert_false(service_journal_stream_matches("12:34", 13, 34));
	assert_false(service_journal_stream_matches("12:34", 12, 35));
	assert_false(service_journal_stream_matches("12:34x", 12, 34));
	assert_false(service_journal_stream_matches("12", 12, 34));
	assert_false(service_journal_stream_matches("", 0, 0));
	assert_false(service_journal_stream_matches(NULL, 12, 34));
}

static void
test_log_priority(void **state)
{
	assert_int_equal(service_log_priority(RTE_LOG_EMERG), LOG_EMERG);
	assert_int_equal(service_log_priority(RTE_LOG_ERR), LOG_ERR);
	assert_int_equal(service_log_priority(RTE_LOG_WARNING), LOG_WARNING);
	assert_int_equal(service_log_priority(RTE_LOG_NOTICE), LOG_NOTICE);
	assert_int_equal(service_log_priority(RTE_LOG_INFO), LOG_INFO);
	assert_int_equal(service_log_priority(RTE_LOG_DEBUG), LOG_DEBUG);
	/* Outside a message (0) or unknown: info. */
	assert_int_equal(service_log_priority(0), LOG_INFO);
	assert_int_equal(service_log_priority(RTE_LOG_MAX + 1), LOG_INFO);
}

/* Runs 'fn' with stderr in a file; returns what it wrote. */
static char *
capture_stderr(void (*fn)(void))
{
	static char buf[4096];
	char path[128];
	int saved, fd;
	ssize_t n;

	snprintf(path, sizeof(path), "%s/stderr", tmpdir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	fn();
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void
two_lines_in_two_chunks(void)
{
	unsetenv("JOURNAL_STREAM");
	service_log_open();
	service_log("vhswd: one\nvhswd: tw", 20);
	service_log("o\n", 2);
}

static void
stderr_is_the_journal(void)
{
	struct stat st;
	char env[64];

	/* JOURNAL_STREAM names this stderr: records go to the journal. */
	fstat(STDERR_FILENO, &st);
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", env, 1);
	service_log_open();
	assert_true(service_log_to_journal());
	/* Another file's: stderr. */
	snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long)st.st_dev,
		(unsigned long long)st.st_ino + 1);
	setenv("JOURNAL_STREAM", env, 1);
	service_log_open();
	assert_false(service_log_to_journal());
	unsetenv("JOURNAL_STREAM");
}

static void
test_stderr_lines_have_timestamps(void **state)
{
	const char *out = capture_stderr(two_lines_in_two_chunks);
	regex_t re;

	assert_false(service_log_to_journal());
	assert_int_equal(
		regcomp(&re,
			"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:"
			"[0-9]{2}\\.[0-9]{3}Z vhswd: one\n"
			"[0-9-]{10}T[0-9:.]{12}Z vhswd: two\n$",
			REG_EXTENDED),
		0);
	/* A line split over two writes: one stamp. */
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
	capture_stderr(stderr_is_the_journal);
}

static ssize_t
hold_write(void *cookie, const char *buf, size_t len)
{
	service_log_hold(buf, len);
	return (ssize_t)len;
}

static void
release(void)
{
	service_log_release();
}

static void
test_startup_notes_held(void **state)
{
	static const cookie_io_functions_t io = {.write = hold_write};
	FILE *f = fopencookie(NULL, "w", io);
	const char *out;
	regex_t re;

	assert_non_null(f);
	setvbuf(f, NULL, _IOLBF, 0);
	unsetenv("JOURNAL_STREAM");
	service_log_open();
	/* vhswd's own notable lines are held; DPDK's and info are not. */
	rte_openlog_stream(f);
	rte_log(RTE_LOG_NOTICE, RTE_LOGTYPE_USER1, "vhswd: kept\n");
	rte_log(RTE_LOG_INFO, RTE_LOGTYPE_USER1, "vhswd: chatter\n");
	rte_log(RTE_LOG_WARNING, RTE_LOGTYPE_USER1, "EAL: not ours\n");
	rte_log(RTE_LOG_ERR, RTE_LOGTYPE_USER1, "vhswd: kept too\n");
	rte_openlog_stream(NULL);
	fclose(f);
	out = capture_stderr(release);
	assert_int_equal(regcomp(&re,
				 "^[0-9-]{10}T[0-9:.]{12}Z vhswd: kept\n"
				 "[0-9-]{10}T[0-9:.]{12}Z vhswd: kept too\n$",
				 REG_EXTENDED),
		0);
	assert_int_equal(regexec(&re, out, 0, NULL, 0), 0);
	regfree(&re);
	/* Released once. */
	assert_string_equal(capture_stderr(release), "");
}

static void
test_lock_state_dir(void **state)
{
	char dir[128], err[512], pidstr[32];
	pid_t child;
	int status, fd;
	ssize_t n;

	/* A missing parent is not created: a clear error. */
	snprintf(dir, sizeof(dir), "%s/a/b/state", tmpdir);
	assert_int_equal(
		service_lock_state_dir(dir, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "create its parent"));
	/* The directory itself is. */
	snprintf(dir, sizeof(dir), "%s/state", tmpdir);
	assert_int_equal(service_lock_state_dir(dir, err, sizeof(err)), 0);
	snprintf(err, sizeof(err), "%s/lock", dir);
	fd = open(err, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, pidstr, sizeof(pidstr) - 1);
	close(fd);
	pidstr[n > 0 ? n : 0] = '\0';
	assert_int_equal(atoi(pidstr), getpid());

	/* Another process is refused, told who holds it. */
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		char want[64];
		int ret = service_lock_state_dir(dir, err, sizeof(err));

		snprintf(want, sizeof(want), "(PID %d)", (int)getppid());
		_exit(ret == -EWOULDBLOCK && strstr(err, want) != NULL &&
					strstr(err,
						"in use by another vhswd") !=
						NULL
				? 0
				: 1);
	}
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	/* Not a directory: a clear error. */
	snprintf(dir, sizeof(dir), "%s/stderr-file", tmpdir);
	close(open(dir, O_WRONLY | O_CREAT, 0600));
	snprintf(dir, sizeof(dir), "%s/stderr-file/state", tmpdir);
	assert_true(service_lock_state_dir(dir, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "cannot create the state directory"));
}

static void
mkdir_in(const char *root, const char *name, bool with_file)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	assert_int_equal(mkdir(path, 0700), 0);
	if (with_file) {
		strcat(path, "/mp_socket");
		close(open(path, O_WRONLY | O_CREAT, 0600));
	}
}

static bool
exists_in(const char *root, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", root, name);
	return access(path, F_OK) == 0;
}

static void
test_clean_runtime_dirs(void **state)
{
	char root[128], dead[32], live[32], other[32], self[32];
	int sync[2], status;
	pid_t vhswd, gone;
	char c;

	snprintf(root, sizeof(root), "%s/dpdk", tmpdir);
	assert_int_equal(mkdir(root, 0700), 0);
	/* A live "vhswd": a child renamed so. */
	assert_int_equal(pipe(sync), 0);
	vhswd = fork();
	assert_true(vhswd >= 0);
	if (vhswd == 0) {
		prctl(PR_SET_NAME, "vhswd");
		close(sync[0]);
		if (write(sync[1], "x", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	close(sync[1]);
	assert_int_equal(read(sync[0], &c, 1), 1);
	close(sync[0]);
	/* A vhswd that is gone. */
	gone = fork();
	if (gone == 0)
		_exit(0);
	assert_int_equal(waitpid(gone, &status, 0), gone);

	snprintf(live, sizeof(live), "vhsw-%d", (int)vhswd);
	snprintf(dead, sizeof(dead), "vhsw-%d", (int)gone);
	/* Our PID is alive but not a vhswd: its directory is stale. */
	snprintf(other, sizeof(other), "vhsw-%d", (int)getpid());
	snprintf(self, sizeof(self), "vhsw-%d", 1);
	mkdir_in(root, live, true);
	mkdir_in(root, dead, true);
	mkdir_in(root, other, false);
	mkdir_in(root, self, false);
	mkdir_in(root, "vhsw-12x", false);
	mkdir_in(root, "ut-ctl-5", false);
	assert_true(service_pid_is_vhswd(vhswd));
	assert_false(service_pid_is_vhswd(gone));
	assert_false(service_pid_is_vhswd(getpid()));

	assert_int_equal(service_clean_runtime_dirs_in(root, self), 2);
	assert_true(exists_in(root, live));
	assert_false(exists_in(root, dead));
	assert_false(exists_in(root, other));
	assert_true(exists_in(root, self)); /* never our own */
	assert_true(exists_in(root, "vhsw-12x"));
	assert_true(exists_in(root, "ut-ctl-5"));

	kill(vhswd, SIGKILL);
	assert_int_equal(waitpid(vhswd, &status, 0), vhswd);
	assert_int_equal(service_clean_runtime_dirs_in(root, self), 1);
	assert_false(exists_in(root, live));
}

static void
test_notify(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[512];
	ssize_t n;
	int fd;

	/* No NOTIFY_SOCKET: nothing happens. */
	unsetenv("NOTIFY_SOCKET");
	service_ready("/run/x.sock");
	service_stopping();

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/notify", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	setenv("NOTIFY_SOCKET", sa.sun_path, 1);
	service_ready("/run/x.sock");
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "READY=1\n"));
	assert_non_null(
		strstr(buf, "STATUS=running, control socket /run/x.sock"));
	snprintf(sa.sun_path, sizeof(sa.sun_path), "MAINPID=%d", getpid());
	assert_non_null(strstr(buf, sa.sun_path));
	service_stopping();
	n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_non_null(strstr(buf, "STOPPING=1"));
	unsetenv("NOTIFY_SOCKET");
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal_stream_matches),
		cmocka_unit_test(test_log_priority),
		cmocka_unit_test(test_stderr_lines_have_timestamps),
		cmocka_unit_test(test_startup_notes_held),
		cmocka_unit_test(test_lock_state_dir),
		cmocka_unit_test(test_clean_runtime_dirs),
		cmocka_unit_test(test_notify),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
