/*
 * httpd.c: a scripted HTTP/1.1 server on 127.0.0.1 for the webhook tests.
 *
 *   httpd -p PORTFILE -d DIR [-t SECONDS] [-r] RESPONSE...
 *
 * Binds 127.0.0.1 on a port the kernel picks, writes the port number to
 * PORTFILE (atomically, once it listens), and answers the Nth request with
 * the Nth RESPONSE (the last one again for any further request).  Every
 * request is recorded in DIR before it is answered, as
 *
 *   DIR/N.line     the request line, e.g. "POST /hook HTTP/1.1"
 *   DIR/N.headers  the header lines as received, CRLF removed
 *   DIR/N.body     the body, byte for byte
 *   DIR/N.ms       arrival time, ms since the epoch
 *
 * with N counting from 1.  A RESPONSE is items separated by '|':
 *
 *   STATUS        first item: the status code, e.g. 200, 429, 500; or
 *   hang          first item: never answer (hold the connection until the
 *                 client closes it or the server ends)
 *   body=TEXT     the response body (\n in TEXT is a newline, \x01 a byte)
 *   delay=MS      wait this long before answering
 *   Name: value   an extra response header, e.g. Retry-After: 1
 *
 * -r binds the port but never listens, so that connecting to it is
 * refused while no other program can take the port.  The server ends by
 * itself after -t SECONDS (default 30).  One connection at a time, one
 * request per connection: enough for a client that posts and retries.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#define HEAD_MAX 65536
#define BODY_MAX (16 * 1024 * 1024)

static const char *record_dir;
static long long end_ms;

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void die(const char *what)
{
	fprintf(stderr, "httpd: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* Milliseconds left before the server ends, at least 0. */
static int time_left(void)
{
	long long left = end_ms - now_ms();

	return left > 0 ? (int)(left > 1000000 ? 1000000 : left) : 0;
}

/* Read up to n bytes, waiting at most until the end; 0 on EOF or end. */
static ssize_t read_some(int fd, char *buf, size_t n)
{
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t got;

	for (;;) {
		int rc = poll(&p, 1, time_left());

		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			return 0;
		got = read(fd, buf, n);
		if (got < 0 && errno == EINTR)
			continue;
		return got < 0 ? 0 : got;
	}
}

static void write_all(int fd, const char *buf, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return;
		buf += w;
		n -= (size_t)w;
	}
}

static void record(int n, const char *ext, const char *data, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%d.%s", record_dir, n, ext);
	f = fopen(path, "wb");
	if (!f)
		die(path);
	if (len && fwrite(data, 1, len, f) != len)
		die(path);
	if (fclose(f) != 0)
		die(path);
}

/* Copy `in` into `out` turning \n, \r, \t, \\ and \xHH into bytes. */
static size_t unescape(const char *in, char *out)
{
	size_t n = 0;

	while (*in) {
		if (in[0] == '\\' && in[1] == 'n') {
			out[n++] = '\n';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'r') {
			out[n++] = '\r';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 't') {
			out[n++] = '\t';
			in += 2;
		} else if (in[0] == '\\' && in[1] == '\\') {
			out[n++] = '\\';
			in += 2;
		} else if (in[0] == '\\' && in[1] == 'x' && in[2] && in[3]) {
			char hex[3] = { in[2], in[3], 0 };

			out[n++] = (char)strtol(hex, NULL, 16);
			in += 4;
		} else {
			out[n++] = *in++;
		}
	}
	return n;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

/* Answer one request on fd with `spec`. */
static void respond(int fd, const char *spec)
{
	char *copy = strdup(spec);
	char *save = NULL, *item;
	char headers[8192] = "";
	char *body = calloc(1, strlen(spec) + 1);
	char head[16384];
	size_t bodylen = 0, hlen = 0;
	int status = 200, hang = 0, first = 1, n;
	long delay = 0;

	if (!copy || !body)
		die("out of memory");
	for (item = strtok_r(copy, "|", &save); item;
	     item = strtok_r(NULL, "|", &save)) {
		if (first) {
			first = 0;
			if (strcmp(item, "hang") == 0)
				hang = 1;
			else
				status = atoi(item);
		} else if (strncmp(item, "body=", 5) == 0) {
			bodylen = unescape(item + 5, body);
		} else if (strncmp(item, "delay=", 6) == 0) {
			delay = atol(item + 6);
		} else if (hlen + strlen(item) + 3 < sizeof(headers)) {
			hlen += (size_t)snprintf(headers + hlen,
						 sizeof(headers) - hlen,
						 "%s\r\n", item);
		}
	}
	if (hang) {
		char sink[4096];

		/* Until the client gives up and closes, or the end. */
		while (read_some(fd, sink, sizeof(sink)) > 0)
			;
		goto out;
	}
	if (delay > 0) {
		struct timespec ts = { delay / 1000, (delay % 1000) * 1000000L };

		nanosleep(&ts, NULL);
	}
	n = snprintf(head, sizeof(head),
		     "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
		     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
		     status, reason(status), bodylen, headers);
	write_all(fd, head, (size_t)n);
	write_all(fd, body, bodylen);
out:
	free(copy);
	free(body);
}

/*
 * Read one request, record it as number n, answer it.  Returns 1 when a
 * whole request came, 0 when the client left before.
 */
static int serve(int fd, int n, const char *spec)
{
	char *buf = malloc(HEAD_MAX + 1);
	char *body = NULL, *end, *line_end, *p;
	size_t len = 0, headlen, bodylen = 0, have;
	long long arrived = 0;
	char ms[32];
	int ret = 0;

	if (!buf)
		die("out of memory");
	for (;;) {
		ssize_t got = read_some(fd, buf + len, HEAD_MAX - len);

		if (got <= 0)
			goto out;
		if (!arrived)
			arrived = now_ms();
		len += (size_t)got;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (end)
			break;
		if (len == HEAD_MAX)
			goto out;
	}
	headlen = (size_t)(end - buf) + 4;
	for (p = buf; p < end; p = line_end + 2) {
		line_end = strstr(p, "\r\n");
		if (strncasecmp(p, "content-length:", 15) == 0)
			bodylen = strtoul(p + 15, NULL, 10);
		if (strncasecmp(p, "expect:", 7) == 0)
			write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25);
	}
	if (bodylen > BODY_MAX)
		goto out;
	body = malloc(bodylen + 1);
	if (!body)
		die("out of memory");
	have = len - headlen < bodylen ? len - headlen : bodylen;
	memcpy(body, buf + headlen, have);
	while (have < bodylen) {
		ssize_t got = read_some(fd, body + have, bodylen - have);

		if (got <= 0)
			goto out;
		have += (size_t)got;
	}

	line_end = strstr(buf, "\r\n");
	record(n, "line", buf, (size_t)(line_end - buf));
	{
		/* The header lines with LF line ends. */
		char *h = malloc(headlen + 1);
		size_t hn = 0;

		if (!h)
			die("out of memory");
		for (p = line_end + 2; p < end + 2; p++) {
			if (*p != '\r')
				h[hn++] = *p;
		}
		record(n, "headers", h, hn);
		free(h);
	}
	record(n, "body", body, bodylen);
	snprintf(ms, sizeof(ms), "%lld\n", arrived);
	record(n, "ms", ms, strlen(ms));
	ret = 1;
	respond(fd, spec);
out:
	free(buf);
	free(body);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: httpd -p PORTFILE -d DIR [-t SECONDS] [-r] RESPONSE...\n");
	exit(64);
}

int main(int argc, char **argv)
{
	const char *portfile = NULL;
	struct sockaddr_in addr;
	socklen_t alen = sizeof(addr);
	char tmp[4096];
	FILE *f;
	int opt, fd, refuse = 0, n = 0, i;
	long seconds = 30;

	while ((opt = getopt(argc, argv, "p:d:t:r")) != -1) {
		switch (opt) {
		case 'p': portfile = optarg; break;
		case 'd': record_dir = optarg; break;
		case 't': seconds = atol(optarg); break;
		case 'r': refuse = 1; break;
		default: usage();
		}
	}
	if (!portfile || !record_dir || (optind >= argc && !refuse))
		usage();
	end_ms = now_ms() + seconds * 1000;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		die("socket");
	memset(&addr, 0, sizeof(addr));
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = 0;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0)
		die("bind");
	if (!refuse && listen(fd, 16) != 0)
		die("listen");
	if (getsockname(fd, (struct sockaddr *)&addr, &alen) != 0)
		die("getsockname");
	snprintf(tmp, sizeof(tmp), "%s.tmp", portfile);
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%d\n", ntohs(addr.sin_port)) < 0 ||
	    fclose(f) != 0 || rename(tmp, portfile) != 0)
		die(portfile);

	while (time_left() > 0) {
		struct pollfd p = { fd, POLLIN, 0 };
		int c, rc;

		if (refuse) {
			poll(NULL, 0, time_left());
			continue;
		}
		rc = poll(&p, 1, time_left());
		if (rc <= 0)
			continue;
		c = accept4(fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		/* The last response again for any further request. */
		i = n < argc - optind ? n : argc - optind - 1;
		n += serve(c, n + 1, argv[optind + i]);
		close(c);
	}
	close(fd);
	return 0;
}
