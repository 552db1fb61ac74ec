/* Watches a file of DIR with inotify, keeps it open and deletes it (the
 * watch lives on while the file is open), writes DIR/ready and sleeps until
 * killed: a watch whose target no path names, which stasis must refuse at
 * dump. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/inotify.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    char file[4096], ready[4096];
    snprintf(file, sizeof file, "%s/watched_then_deleted", argv[1]);
    snprintf(ready, sizeof ready, "%s/ready", argv[1]);
    int in = inotify_init1(0);
    int fd = open(file, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (in < 0 || fd < 0 || inotify_add_watch(in, file, IN_MODIFY) != 1 || unlink(file) != 0) {
        perror("setup");
        return 1;
    }
    int r = open(ready, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (r < 0) {
        perror(ready);
        return 1;
    }
    close(r);
    for (;;) pause();
}
