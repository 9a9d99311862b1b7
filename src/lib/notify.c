/* notify: see notify.h. */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "notify.h"
#include "util.h"

static int
notify_addr(const char *path, struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (str_copy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path))
		return -1;
	return 0;
}

int
notify_listen(const char *path, const char **error_r)
{
	struct sockaddr_un sun;
	int fd;

	if (notify_addr(path, &sun) == -1) {
		*error_r = "socket path too long";
		return -1;
	}
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1) {
		*error_r = strerror(errno);
		return -1;
	}
	/* Only ever a socket of ours: a dead process leaves it behind. */
	(void)unlink(path);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(path, 0660) == -1) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

int
notify_sender(void)
{
	return socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

int
notify_send(int fd, const char *path, const void *data, size_t len)
{
	struct sockaddr_un sun;

	if (fd == -1 || notify_addr(path, &sun) == -1)
		return -1;
	if (sendto(fd, data, len, MSG_NOSIGNAL, (struct sockaddr *)&sun,
	    sizeof(sun)) == -1)
		return -1;
	return 0;
}

int
notify_send_dir(int fd, const char *dir, const void *data, size_t len)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	struct dirent *de;
	DIR *d;
	int n = 0;

	if (fd == -1 || (d = opendir(dir)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] == '.' || (size_t)snprintf(path,
		    sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			continue;
		/* Sockets only: never follow a link somewhere else. */
		if (lstat(path, &st) == -1 || !S_ISSOCK(st.st_mode))
			continue;
		if (notify_send(fd, path, data, len) == 0)
			n++;
		else if (errno == ECONNREFUSED)
			(void)unlink(path);
	}
	closedir(d);
	return n;
}

int
notify_drain(int fd)
{
	return notify_drain_saw(fd, '\0', NULL);
}

int
notify_drain_saw(int fd, char c, bool *saw_r)
{
	char b[NOTIFY_DGRAM_MAX];
	ssize_t len;
	int n = 0;

	if (saw_r != NULL)
		*saw_r = false;
	while ((len = recv(fd, b, sizeof(b), 0)) >= 0) {
		if (saw_r != NULL && len > 0 && b[0] == c)
			*saw_r = true;
		n++;
	}
	return n;
}
