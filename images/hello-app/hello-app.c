/*
 * hello-app: a stand-in for gcr.io/google-samples/hello-app:1.0, built statically from Debian's
 * gcc + glibc for the Raven sandbox (there is no registry to pull the real image from).
 *
 * Same behaviour as the Go original: listens on $PORT (default 8080), answers every request with
 *   Hello, world!\nVersion: 1.0.0\nHostname: <hostname>\n
 * and logs "Serving request: <path>" to stdout, Go-log style. SIGTERM, SIGINT and SIGHUP end it the
 * way they end a Go program that does not catch them: it dies by the signal (exit status 128+n),
 * or, as a container's PID 1 (where the kernel ignores a default-action signal), exits 2. So
 * `kubectl exec ... -- /usr/bin/killall hello-app` makes the container fail with reason Error, and
 * restartPolicy OnFailure restarts it, as seed 004 shows. Added: `--version` prints the version
 * (lets tests run the binary without a network).
 *
 * One thread per connection, HTTP/1.1 keep-alive, request bodies (Content-Length) discarded.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define VERSION "1.0.0"
#define MAX_HEADER 16384

static char hostname[256];
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

/* Go's log package format: "2006/01/02 15:04:05 message". */
static void logf_(const char *fmt, const char *arg) {
  time_t now = time(NULL);
  struct tm tm;
  char stamp[32];
  localtime_r(&now, &tm);
  strftime(stamp, sizeof stamp, "%Y/%m/%d %H:%M:%S", &tm);
  pthread_mutex_lock(&log_lock);
  printf("%s ", stamp);
  printf(fmt, arg);
  putchar('\n');
  fflush(stdout);
  pthread_mutex_unlock(&log_lock);
}

/* Go's runtime: restore the default action and re-raise; if still alive (PID 1), exit(2). */
static void on_term(int sig) {
  sigset_t set;
  signal(sig, SIG_DFL);
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, NULL); /* the handler runs with sig blocked */
  raise(sig);
  _exit(2);
}

static int write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    buf += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Value of header `name` in the header block (case-insensitive), copied into out; 0 if absent. */
static int header_value(const char *headers, const char *name, char *out, size_t outlen) {
  size_t nlen = strlen(name);
  const char *line = strstr(headers, "\r\n");
  while (line != NULL) {
    line += 2;
    if (strncasecmp(line, name, nlen) == 0 && line[nlen] == ':') {
      const char *v = line + nlen + 1;
      while (*v == ' ' || *v == '\t') v++;
      const char *end = strstr(v, "\r\n");
      size_t len = end ? (size_t)(end - v) : strlen(v);
      if (len >= outlen) len = outlen - 1;
      memcpy(out, v, len);
      out[len] = '\0';
      return 1;
    }
    line = strstr(line, "\r\n");
  }
  return 0;
}

static void *serve_connection(void *arg) {
  int fd = (int)(long)arg;
  char buf[MAX_HEADER + 1];
  size_t have = 0;
  for (;;) {
    char *end;
    buf[have] = '\0';
    while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
      if (have == MAX_HEADER) goto done;
      ssize_t n = read(fd, buf + have, MAX_HEADER - have);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) goto done;
      have += (size_t)n;
      buf[have] = '\0';
    }
    size_t header_len = (size_t)(end - buf) + 4;
    end[2] = '\0'; /* headers end with the last header's CRLF */

    char method[16] = "", path[4096] = "/", proto[16] = "HTTP/1.0";
    if (sscanf(buf, "%15s %4095s %15s", method, path, proto) < 2) goto done;
    char *query = strchr(path, '?');
    if (query) *query = '\0';

    char value[64];
    int keep_alive = strcmp(proto, "HTTP/1.1") == 0;
    if (header_value(buf, "Connection", value, sizeof value)) {
      if (strcasecmp(value, "close") == 0) keep_alive = 0;
      if (strcasecmp(value, "keep-alive") == 0) keep_alive = 1;
    }
    long body = 0;
    if (header_value(buf, "Content-Length", value, sizeof value)) body = atol(value);

    logf_("Serving request: %s", path);

    char payload[512], response[1024];
    int plen = snprintf(payload, sizeof payload, "Hello, world!\nVersion: " VERSION "\nHostname: %s\n", hostname);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    int rlen = snprintf(response, sizeof response,
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nDate: %s\r\n"
                        "Content-Length: %d\r\n%s\r\n%s",
                        date, plen, keep_alive ? "" : "Connection: close\r\n",
                        strcmp(method, "HEAD") == 0 ? "" : payload);
    if (write_all(fd, response, (size_t)rlen) < 0 || !keep_alive) goto done;

    /* Drop what was consumed (headers, then the body as it arrives) and keep any pipelined rest. */
    size_t consumed = header_len;
    while (body > 0) {
      size_t avail = have - consumed;
      if (avail >= (size_t)body) {
        consumed += (size_t)body;
        body = 0;
        break;
      }
      body -= (long)avail;
      have = consumed = 0;
      ssize_t n = read(fd, buf, MAX_HEADER);
      if (n <= 0) goto done;
      have = (size_t)n;
    }
    memmove(buf, buf + consumed, have - consumed);
    have -= consumed;
  }
done:
  close(fd);
  return NULL;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--version") == 0) {
    printf("hello-app " VERSION "\n");
    return 0;
  }
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGHUP, &sa, NULL);

  if (gethostname(hostname, sizeof hostname - 1) != 0) strcpy(hostname, "unknown");
  const char *port_env = getenv("PORT");
  const char *port_str = port_env && *port_env ? port_env : "8080";
  char *endp;
  long port = strtol(port_str, &endp, 10);
  if (*endp != '\0' || port <= 0 || port > 65535) {
    fprintf(stderr, "hello-app: invalid PORT %s\n", port_str);
    return 2;
  }

  int srv = socket(AF_INET6, SOCK_STREAM, 0);
  int v6 = srv >= 0;
  if (!v6) srv = socket(AF_INET, SOCK_STREAM, 0);
  if (srv < 0) {
    perror("hello-app: socket");
    return 1;
  }
  int one = 1, zero = 0;
  setsockopt(srv, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  int rc;
  if (v6) {
    /* Dual-stack, like Go's ":8080". */
    setsockopt(srv, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
    struct sockaddr_in6 a6;
    memset(&a6, 0, sizeof a6);
    a6.sin6_family = AF_INET6;
    a6.sin6_addr = in6addr_any;
    a6.sin6_port = htons((unsigned short)port);
    rc = bind(srv, (struct sockaddr *)&a6, sizeof a6);
  } else {
    struct sockaddr_in a4;
    memset(&a4, 0, sizeof a4);
    a4.sin_family = AF_INET;
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    a4.sin_port = htons((unsigned short)port);
    rc = bind(srv, (struct sockaddr *)&a4, sizeof a4);
  }
  if (rc < 0 || listen(srv, 128) < 0) {
    perror("hello-app: listen");
    return 1;
  }
  logf_("Server listening on port %s", port_str);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_attr_setstacksize(&attr, 256 * 1024);
  for (;;) {
    int fd = accept(srv, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE) {
        usleep(10000);
        continue;
      }
      perror("hello-app: accept");
      return 1;
    }
    /* An idle keep-alive client must not hold a thread forever. */
    struct timeval tv = {.tv_sec = 120, .tv_usec = 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    pthread_t t;
    if (pthread_create(&t, &attr, serve_connection, (void *)(long)fd) != 0) close(fd);
  }
}
