/*
 * agnhost: the two subcommands of registry.k8s.io/e2e-test-images/agnhost that Kubernetes'
 * network-policy tests use, built statically from Debian's gcc + glibc for the Raven sandbox
 * (there is no registry to pull the real image from). Same flags and exit codes as the Go
 * original for what is implemented:
 *
 *   agnhost serve-hostname [--tcp] [--udp] [--http=false] [--port N]
 *       TCP: writes the hostname to every connection and closes it. UDP: answers every datagram
 *       with the hostname. (--http, the default of the original, is not implemented: pass
 *       --http=false.)
 *   agnhost connect [--protocol tcp|udp] [--timeout 1s] HOST:PORT
 *       Exit 0 when connected (UDP: when an answer came back), else exit 1 with TIMEOUT,
 *       REFUSED or OTHER: <why> on stderr, as the original prints.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int usage(void) {
  fprintf(stderr,
          "usage: agnhost serve-hostname [--tcp] [--udp] [--http=false] [--port N]\n"
          "       agnhost connect [--protocol tcp|udp] [--timeout 1s] HOST:PORT\n");
  return 2;
}

/* "--name=value" or "--name value": the value, advancing *i past it; NULL when argv[*i] is not --name. */
static const char *flag_value(int argc, char **argv, int *i, const char *name) {
  size_t n = strlen(name);
  const char *a = argv[*i];
  if (strncmp(a, "--", 2) == 0) a += 2;
  else if (a[0] == '-') a += 1;
  else return NULL;
  if (strncmp(a, name, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] == '\0' && *i + 1 < argc) return argv[++*i];
  return NULL;
}

/* Go's flag for a bool: "--tcp" or "--tcp=true|false". 1, 0, or -1 when argv[i] is not --name. */
static int flag_bool(const char *arg, const char *name) {
  size_t n = strlen(name);
  const char *a = arg;
  if (strncmp(a, "--", 2) == 0) a += 2;
  else if (a[0] == '-') a += 1;
  else return -1;
  if (strncmp(a, name, n) != 0) return -1;
  if (a[n] == '\0') return 1;
  if (a[n] != '=') return -1;
  return strcmp(a + n + 1, "false") != 0 && strcmp(a + n + 1, "0") != 0;
}

/* A Go duration of the simple kinds: "1s", "500ms", "1.5s", or seconds as a number. */
static int duration_ms(const char *s) {
  char *end;
  double v = strtod(s, &end);
  if (strcmp(end, "ms") == 0) return (int)v;
  if (strcmp(end, "s") == 0 || *end == '\0') return (int)(v * 1000);
  if (strcmp(end, "m") == 0) return (int)(v * 60000);
  return -1;
}

static int listen_on(int type, int port) {
  int fd = socket(AF_INET, type, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 || (type == SOCK_STREAM && listen(fd, 128) < 0)) {
    perror("listen");
    exit(1);
  }
  return fd;
}

static int serve_hostname(int argc, char **argv) {
  int tcp = 0, udp = 0, http = 1, port = 9376;
  for (int i = 2; i < argc; i++) {
    const char *v;
    int b;
    if ((b = flag_bool(argv[i], "tcp")) >= 0) tcp = b;
    else if ((b = flag_bool(argv[i], "udp")) >= 0) udp = b;
    else if ((b = flag_bool(argv[i], "http")) >= 0) http = b;
    else if ((v = flag_value(argc, argv, &i, "port"))) port = atoi(v);
    else return usage();
  }
  if (http) {
    fprintf(stderr, "serve-hostname: --http is not implemented here; pass --http=false with --tcp or --udp\n");
    return 2;
  }
  if (!tcp && !udp) return usage();
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  size_t hlen = strlen(host);
  signal(SIGPIPE, SIG_IGN);
  struct pollfd fds[2];
  int n = 0;
  if (tcp) fds[n++] = (struct pollfd){.fd = listen_on(SOCK_STREAM, port), .events = POLLIN};
  if (udp) fds[n++] = (struct pollfd){.fd = listen_on(SOCK_DGRAM, port), .events = POLLIN};
  printf("Serving on port %d (tcp %s, udp %s)\n", port, tcp ? "on" : "off", udp ? "on" : "off");
  fflush(stdout);
  for (;;) {
    if (poll(fds, n, -1) < 0 && errno != EINTR) return 1;
    for (int i = 0; i < n; i++) {
      if (!(fds[i].revents & POLLIN)) continue;
      if (tcp && i == 0) {
        int c = accept(fds[i].fd, NULL, NULL);
        if (c >= 0) {
          (void)!write(c, host, hlen);
          close(c);
        }
      } else {
        char buf[2048];
        struct sockaddr_in from;
        socklen_t fl = sizeof from;
        ssize_t r = recvfrom(fds[i].fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &fl);
        if (r >= 0) sendto(fds[i].fd, host, hlen, 0, (struct sockaddr *)&from, fl);
      }
    }
  }
}

static int fail(const char *what) {
  fprintf(stderr, "%s\n", what);
  return 1;
}

static int connect_cmd(int argc, char **argv) {
  const char *protocol = "tcp", *target = NULL;
  int timeout = 5000;
  for (int i = 2; i < argc; i++) {
    const char *v;
    if ((v = flag_value(argc, argv, &i, "protocol"))) protocol = v;
    else if ((v = flag_value(argc, argv, &i, "timeout"))) timeout = duration_ms(v);
    else if (argv[i][0] != '-' && !target) target = argv[i];
    else return usage();
  }
  if (!target || timeout < 0) return usage();
  char host[256];
  const char *colon = strrchr(target, ':');
  if (!colon || colon - target >= (long)sizeof host) return usage();
  memcpy(host, target, colon - target);
  host[colon - target] = '\0';
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(atoi(colon + 1))};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) return fail("OTHER: not an IPv4 address");
  int udp = strcmp(protocol, "udp") == 0;
  if (!udp && strcmp(protocol, "tcp") != 0) return fail("OTHER: unsupported protocol");
  int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_NONBLOCK, 0);
  if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0 && errno != EINPROGRESS) {
    if (errno == ECONNREFUSED) return fail("REFUSED");
    return fail("OTHER: connect failed");
  }
  if (udp && send(fd, "hostname\n", 9, 0) < 0) return fail(errno == ECONNREFUSED ? "REFUSED" : "OTHER: send failed");
  struct pollfd p = {.fd = fd, .events = udp ? POLLIN : POLLOUT};
  int r = poll(&p, 1, timeout);
  if (r == 0) return fail("TIMEOUT");
  int err = 0;
  socklen_t el = sizeof err;
  getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
  if (err == ECONNREFUSED) return fail("REFUSED");
  if (err) {
    fprintf(stderr, "OTHER: %s\n", strerror(err));
    return 1;
  }
  if (udp) {
    char buf[512];
    if (recv(fd, buf, sizeof buf, 0) < 0) return fail(errno == ECONNREFUSED ? "REFUSED" : "OTHER: no answer");
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return usage();
  if (strcmp(argv[1], "serve-hostname") == 0) return serve_hostname(argc, argv);
  if (strcmp(argv[1], "connect") == 0) return connect_cmd(argc, argv);
  return usage();
}
