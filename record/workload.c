/*
 * The command `memprof record -- CMD` runs: forked first and held on a pipe
 * until the BPF programs are attached and its pid is a target, so that its
 * first allocation after exec is recorded (perf record does the same), and
 * sent SIGTERM should record die before it.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "record/record.h"

int workload__prepare(struct workload *wl, char **argv, char *const *env)
{
	pid_t parent = getpid();
	int go[2], err[2];
	char c;

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(err, O_CLOEXEC)) {
		close(go[0]);
		close(go[1]);
		return -errno;
	}
	wl->pid = fork();
	if (wl->pid < 0) {
		int e = errno;

		close(go[0]);
		close(go[1]);
		close(err[0]);
		close(err[1]);
		return -e;
	}
	if (wl->pid == 0) {
		int e;

		close(go[1]);
		close(err[0]);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		/*
		 * record killed (-9, the OOM killer) must not leave its command
		 * running unrecorded: the command gets SIGTERM, as when recording
		 * stops.  It stays across exec, but not for a set-user-ID program,
		 * nor for the command's own children; a command that ignores
		 * SIGTERM runs on.  Set before the check, so a record already
		 * gone is seen.
		 */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) || getppid() != parent)
			_exit(127);
		/* Held until record is ready; EOF means record died: don't run unrecorded. */
		if (read(go[0], &c, 1) != 1)
			_exit(127);
		for (; env && *env; env++)
			putenv(*env);
		execvp(argv[0], argv);
		e = errno;
		if (write(err[1], &e, sizeof(e)) < 0)
			_exit(127);
		_exit(127);
	}
	close(go[0]);
	close(err[1]);
	wl->go_fd = go[1];
	wl->err_fd = err[0];
	return 0;
}

int workload__start(struct workload *wl)
{
	ssize_t n;
	int e = 0;

	if (write(wl->go_fd, "g", 1) != 1)
		e = errno;
	close(wl->go_fd);
	wl->go_fd = -1;
	if (e)
		return -e;
	/* Blocks until exec succeeded (the pipe is closed on exec) or failed. */
	do
		n = read(wl->err_fd, &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(wl->err_fd);
	wl->err_fd = -1;
	return n == sizeof(e) ? -e : 0;
}
