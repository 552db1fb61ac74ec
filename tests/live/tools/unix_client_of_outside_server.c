/* For the tests of sockets connected outside the dumped tree:
 *   unix_client_of_outside_server stream|dgram SOCKET_PATH READY_FILE [LOG]
 * This process is the server, bound to SOCKET_PATH; its child, in a session
 * of its own, is the client with its socket at fd 5 and writes its PID to
 * READY_FILE.
 *  - stream: the server accepts the one connection; both then sleep.
 *  - dgram: the client sends a datagram every 20 ms (ignoring errors); the
 *    server appends one byte to LOG for each datagram it receives. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum { CLIENT_FD = 5 };

static int write_pid(const char *ready) {
    char tmp[4096], pid[32];
    snprintf(tmp, sizeof tmp, "%s.tmp", ready);
    FILE *f = fopen(tmp, "w");
    if (!f) return -1;
    snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    fputs(pid, f);
    fclose(f);
    return rename(tmp, ready);
}

int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int type = strcmp(argv[1], "dgram") == 0 ? SOCK_DGRAM : SOCK_STREAM;
    if (type == SOCK_DGRAM && argc != 5) return 2;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[2]);
    int srv = socket(AF_UNIX, type, 0);
    if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof a) != 0) return perror("server"), 1;
    if (type == SOCK_STREAM && listen(srv, 4) != 0) return perror("listen"), 1;
    pid_t child = fork();
    if (child < 0) return perror("fork"), 1;
    if (child == 0) {
        close(srv);
        setsid();
        int c = socket(AF_UNIX, type, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) return perror("client"), 1;
        if (dup2(c, CLIENT_FD) != CLIENT_FD) return 1;
        close(c);
        if (write_pid(argv[3]) != 0) return 1;
        if (type == SOCK_STREAM)
            for (;;) pause();
        for (;;) {
            struct timespec t = {0, 20 * 1000 * 1000};
            nanosleep(&t, NULL);
            (void)send(CLIENT_FD, "tick", 4, MSG_DONTWAIT);
        }
    }
    signal(SIGCHLD, SIG_IGN);  // a client killed by a dump leaves no zombie holding its PID
    if (type == SOCK_STREAM) {
        int conn = accept(srv, NULL, NULL);
        if (conn < 0) return perror("accept"), 1;
        for (;;) pause();
    }
    int log = open(argv[4], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (log < 0) return perror("log"), 1;
    for (;;) {
        char buf[64];
        if (recv(srv, buf, sizeof buf, 0) > 0 && write(log, ".", 1) != 1) return 1;
    }
}
