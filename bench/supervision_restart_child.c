/* The child bench_supervision_restart supervises: stamps CLOCK_MONOTONIC as it starts ("S"),
 * lives 20 ms, stamps again just before it exits ("D"), exits 1. Statically linked and in C, so
 * that it runs its first line right after exec, with no dynamic loader or C++ runtime start-up
 * in between: the latency measured ends at the spawn.
 *
 *   supervision_restart_child FILE */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static void Stamp(const char* file, char tag) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  char line[48];
  const int n = snprintf(line, sizeof line, "%c %lld\n", tag,
                         (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
  const int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return;
  if (write(fd, line, (size_t)n) != n) perror("supervision_restart_child: write");
  close(fd);
}

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  Stamp(argv[1], 'S');
  const struct timespec life = {0, 20 * 1000 * 1000};
  nanosleep(&life, NULL);
  Stamp(argv[1], 'D');
  _exit(1);
}
