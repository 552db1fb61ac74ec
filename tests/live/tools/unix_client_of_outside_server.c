/* For the failure test that refuses a socket connected outside the dumped
 * tree: `unix_client_of_outside_server SOCKET_PATH READY_FILE`. This process
 * is the server (listening at SOCKET_PATH, accepting one connection); its
 * child, in a session of its own, connects to it with its socket at fd 5
 * and writes its PID to READY_FILE. Both then sleep until killed. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

enum { CLIENT_FD = 5 };

int main(int argc, char **argv) {
    if (argc != 3) return 2;
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s", argv[1]);
    int srv = socket(AF_UNIX, SOCK_STREAM, 0);
    if (srv < 0 || bind(srv, (struct sockaddr *)&a, sizeof a) != 0 || listen(srv, 4) != 0) return perror("server"), 1;
    pid_t child = fork();
    if (child < 0) return perror("fork"), 1;
    if (child == 0) {
        close(srv);
        setsid();
        int c = socket(AF_UNIX, SOCK_STREAM, 0);
        if (c < 0 || connect(c, (struct sockaddr *)&a, sizeof a) != 0) return perror("client"), 1;
        if (dup2(c, CLIENT_FD) != CLIENT_FD) return 1;
        close(c);
        char tmp[4096], pid[32];
        snprintf(tmp, sizeof tmp, "%s.tmp", argv[2]);
        FILE *f = fopen(tmp, "w");
        if (!f) return 1;
        snprintf(pid, sizeof pid, "%d\n", (int)getpid());
        fputs(pid, f);
        fclose(f);
        if (rename(tmp, argv[2]) != 0) return 1;
        for (;;) pause();
    }
    int conn = accept(srv, NULL, NULL);
    if (conn < 0) return perror("accept"), 1;
    for (;;) pause();
}
