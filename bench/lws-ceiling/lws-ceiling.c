/*
 * lws-ceiling: the fastest chat.v1 fan-out we know how to write directly on libwebsockets, as the
 * ceiling the gateway is compared with (same library, same event loop, same load generator).
 * It speaks just enough chat.v1 for chat-bench: hello -> welcome, join -> joined, message -> ack
 * and one turn of TOKENS deltas at RATE tokens/s. No session log beyond one turn's frames, no JSON
 * parsing (strstr), no merging (a subscriber that falls behind gets every frame), one turn per
 * session. Same shape as the gateway: a ticker thread appends events and wakes the service thread
 * with lws_cancel_service; each subscriber is a cursor into its session's frames.
 *
 * usage: lws-ceiling --port N [--tokens-per-second R] [--tokens T] [--poll]
 */
#define _GNU_SOURCE  /* memmem */
#include <libwebsockets.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>

struct frame { unsigned char *payload; size_t len; }; /* payload has LWS_PRE bytes before it */

struct session {
	char name[136];
	struct session *next_in_bucket;
	struct subscriber *subscribers;
	struct frame *frames;     /* one turn's events: seq 1 is frames[0] */
	int capacity, published;  /* published: frames visible to the service thread (under lock) */
	int streaming, emitted, changed;
	double started;
};

struct subscriber {           /* lws per-session data */
	struct lws *wsi;
	struct session *session;
	struct subscriber *next;
	int cursor;               /* frames sent so far */
	char control[4][320];     /* welcome / joined / ack / error waiting to go out */
	int controls;
};

#define BUCKETS 65536
static struct session *buckets[BUCKETS];
static struct session **streaming; static int streaming_count, streaming_capacity;
static struct session **changed; static int changed_count, changed_capacity;  /* sessions with new frames */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;  /* frames, published, streaming, changed */
static struct lws_context *context;
static double rate = 20; static int tokens = 60;
static unsigned long connection_counter;

static double now_seconds(void) { struct timespec t; clock_gettime(CLOCK_REALTIME, &t); return t.tv_sec + t.tv_nsec / 1e9; }
/* Rounded to the nearest ms, as the gateway stamps ts: latencies of both read alike. */
static long long now_ms(void) { return llround(now_seconds() * 1000); }

static struct session *session_named(const char *name) {
	unsigned h = 2166136261u;
	for (const char *c = name; *c; c++) h = (h ^ (unsigned char)*c) * 16777619u;
	struct session **slot = &buckets[h % BUCKETS];
	for (struct session *s = *slot; s; s = s->next_in_bucket) if (!strcmp(s->name, name)) return s;
	struct session *s = calloc(1, sizeof *s);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->next_in_bucket = *slot;
	*slot = s;
	return s;
}

/* Appends one event to a streaming session; lock held. */
static void append(struct session *s, const char *fmt, ...) {
	if (s->published >= s->capacity) return;
	char body[512]; va_list ap; va_start(ap, fmt); int n = vsnprintf(body, sizeof body, fmt, ap); va_end(ap);
	struct frame *f = &s->frames[s->published];
	f->payload = (unsigned char *)malloc(LWS_PRE + (size_t)n) + LWS_PRE;
	memcpy(f->payload, body, (size_t)n);
	f->len = (size_t)n;
	s->published++;
	if (!s->changed) {
		s->changed = 1;
		if (changed_count == changed_capacity) {
			changed_capacity = changed_capacity ? 2 * changed_capacity : 64;
			changed = realloc(changed, (size_t)changed_capacity * sizeof *changed);
		}
		changed[changed_count++] = s;
	}
}

/* The ticker thread: every millisecond, emit the tokens each streaming session has due. */
static void *ticker(void *unused) {
	(void)unused;
	for (;;) {
		pthread_mutex_lock(&lock);
		double now = now_seconds();
		for (int i = 0; i < streaming_count; i++) {
			struct session *s = streaming[i];
			int due = (int)((now - s->started) * rate) + 1;
			if (due > tokens) due = tokens;
			for (; s->emitted < due; s->emitted++)
				append(s, "{\"type\":\"turn.delta\",\"session\":\"%s\",\"seq\":%d,\"turn\":\"t1\",\"text\":\"word \",\"ts\":%lld}",
				       s->name, s->published + 1, now_ms());
			if (s->emitted == tokens) {
				append(s, "{\"type\":\"turn.end\",\"session\":\"%s\",\"seq\":%d,\"turn\":\"t1\",\"finish\":\"stop\","
				       "\"usage\":{\"input_tokens\":1,\"output_tokens\":%d,\"estimated\":false},\"ts\":%lld}",
				       s->name, s->published + 1, tokens, now_ms());
				s->streaming = 0;
				streaming[i--] = streaming[--streaming_count];
			}
		}
		int woke = changed_count > 0;
		pthread_mutex_unlock(&lock);
		if (woke) lws_cancel_service(context);
		usleep(1000);
	}
	return NULL;
}

/* The string value of "key":"..." in a client frame (no escapes in what chat-bench sends). */
static int field(const char *in, size_t len, const char *key, char *out, size_t size) {
	char pattern[32]; snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
	const char *start = memmem(in, len, pattern, strlen(pattern));
	if (!start) return 0;
	start += strlen(pattern);
	const char *end = memchr(start, '"', (size_t)(in + len - start));
	if (!end || (size_t)(end - start) >= size) return 0;
	memcpy(out, start, (size_t)(end - start)); out[end - start] = 0;
	return 1;
}

static void control(struct subscriber *sub, const char *fmt, ...) {
	if (sub->controls == 4) return;
	va_list ap; va_start(ap, fmt); vsnprintf(sub->control[sub->controls++], sizeof sub->control[0], fmt, ap); va_end(ap);
	lws_callback_on_writable(sub->wsi);
}

static void received(struct subscriber *sub, const char *in, size_t len) {
	char type[32], name[136], id[136];
	if (!field(in, len, "type", type, sizeof type)) return;
	if (!strcmp(type, "hello")) {
		control(sub, "{\"type\":\"welcome\",\"connection_id\":\"c%lu\",\"node\":\"lws-ceiling\",\"user\":\"guest\","
		        "\"role\":\"user\",\"tenant\":\"default\",\"heartbeat_s\":0,\"protocol\":\"chat.v1\"}", ++connection_counter);
	} else if (!strcmp(type, "join") && field(in, len, "session", name, sizeof name) && !sub->session) {
		struct session *s = session_named(name);
		pthread_mutex_lock(&lock);
		sub->session = s; sub->cursor = s->published; sub->next = s->subscribers; s->subscribers = sub;
		control(sub, "{\"type\":\"joined\",\"session\":\"%s\",\"seq\":%d,\"recovered\":false}", name, s->published);
		pthread_mutex_unlock(&lock);
	} else if (!strcmp(type, "message") && sub->session && field(in, len, "id", id, sizeof id)) {
		struct session *s = sub->session;
		pthread_mutex_lock(&lock);
		if (s->frames) {
			control(sub, "{\"type\":\"error\",\"code\":\"busy\",\"message\":\"one turn per session\",\"ref\":\"%s\"}", id);
		} else {
			s->capacity = tokens + 3;
			s->frames = calloc((size_t)s->capacity, sizeof *s->frames);
			append(s, "{\"type\":\"message\",\"session\":\"%s\",\"seq\":1,\"id\":\"%s\",\"role\":\"user\",\"author\":\"guest\","
			       "\"text\":\"x\",\"ts\":%lld}", s->name, id, now_ms());
			append(s, "{\"type\":\"turn.start\",\"session\":\"%s\",\"seq\":2,\"turn\":\"t1\",\"model\":\"ceiling\",\"ts\":%lld}",
			       s->name, now_ms());
			control(sub, "{\"type\":\"ack\",\"id\":\"%s\",\"seq\":1}", id);
			s->started = now_seconds(); s->streaming = 1;
			if (streaming_count == streaming_capacity) {
				streaming_capacity = streaming_capacity ? 2 * streaming_capacity : 64;
				streaming = realloc(streaming, (size_t)streaming_capacity * sizeof *streaming);
			}
			streaming[streaming_count++] = s;
		}
		pthread_mutex_unlock(&lock);
		lws_cancel_service(context);
	}
}

/* Control frames first, then every published frame after the cursor, while the socket takes them. */
static int writeable(struct subscriber *sub) {
	unsigned char buffer[LWS_PRE + 320];
	while (sub->controls) {
		size_t n = strlen(sub->control[0]);
		memcpy(buffer + LWS_PRE, sub->control[0], n);
		memmove(sub->control[0], sub->control[1], sizeof sub->control[0] * (size_t)--sub->controls);
		if (lws_write(sub->wsi, buffer + LWS_PRE, n, LWS_WRITE_TEXT) < (int)n) return -1;
		if (lws_send_pipe_choked(sub->wsi)) { lws_callback_on_writable(sub->wsi); return 0; }
	}
	if (!sub->session) return 0;
	pthread_mutex_lock(&lock);
	int published = sub->session->published;
	pthread_mutex_unlock(&lock);
	while (sub->cursor < published) {  /* published frames never change: no lock needed to send them */
		struct frame *f = &sub->session->frames[sub->cursor++];
		if (lws_write(sub->wsi, f->payload, f->len, LWS_WRITE_TEXT) < (int)f->len) return -1;
		if (sub->cursor < published && lws_send_pipe_choked(sub->wsi)) { lws_callback_on_writable(sub->wsi); return 0; }
	}
	return 0;
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in, size_t len) {
	struct subscriber *sub = user;
	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED: memset(sub, 0, sizeof *sub); sub->wsi = wsi; break;
	case LWS_CALLBACK_RECEIVE: received(sub, in, len); break;
	case LWS_CALLBACK_SERVER_WRITEABLE: return writeable(sub);
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		pthread_mutex_lock(&lock);
		for (int i = 0; i < changed_count; i++) {
			changed[i]->changed = 0;
			for (struct subscriber *x = changed[i]->subscribers; x; x = x->next) lws_callback_on_writable(x->wsi);
		}
		changed_count = 0;
		pthread_mutex_unlock(&lock);
		break;
	case LWS_CALLBACK_CLOSED:
		if (sub->session) {
			pthread_mutex_lock(&lock);
			for (struct subscriber **p = &sub->session->subscribers; *p; p = &(*p)->next) if (*p == sub) { *p = sub->next; break; }
			pthread_mutex_unlock(&lock);
		}
		break;
	default: break;
	}
	return 0;
}

/* A benchmark peer has nothing to save: with libev, lws_service only returns once the context is
 * being destroyed, so end at once instead. */
static void on_signal(int number) { (void)number; _exit(0); }

int main(int argc, char **argv) {
	int port = 0, use_poll = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc) port = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--tokens-per-second") && i + 1 < argc) rate = atof(argv[++i]);
		else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) tokens = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--poll")) use_poll = 1;
		else { fprintf(stderr, "usage: lws-ceiling --port N [--tokens-per-second R] [--tokens T] [--poll]\n"); return 2; }
	}
	if (port <= 0 || rate <= 0 || tokens <= 0) { fprintf(stderr, "lws-ceiling: --port, rate and tokens must be positive\n"); return 2; }
	static struct lws_protocols protocols[] = {
		{ "chat.v1", callback, sizeof(struct subscriber), 1024, 0, NULL, 128 * 1024 }, { NULL, NULL, 0, 0, 0, NULL, 0 } };
	struct lws_context_creation_info info;
	memset(&info, 0, sizeof info);
	info.port = port; info.iface = "127.0.0.1"; info.protocols = protocols; info.gid = -1; info.uid = -1;
	info.options = LWS_SERVER_OPTION_DISABLE_IPV6 | (use_poll ? 0 : LWS_SERVER_OPTION_LIBEV);
	lws_set_log_level(LLL_ERR | LLL_WARN, NULL);
	context = lws_create_context(&info);
	if (!context) { fprintf(stderr, "lws-ceiling: cannot create the context on port %d\n", port); return 1; }
	signal(SIGTERM, on_signal); signal(SIGINT, on_signal);  /* after lws's libev glue installed its own */
	pthread_t thread; pthread_create(&thread, NULL, ticker, NULL);
	printf("lws-ceiling listening on http://127.0.0.1:%d\n", port); fflush(stdout);
	while (lws_service(context, 0) >= 0) {}
	lws_context_destroy(context);
	return 0;
}
