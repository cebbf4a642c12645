#ifndef CG_CURL_SHIMS_H
#define CG_CURL_SHIMS_H
#include <curl/curl.h>

// curl_easy_setopt is variadic, which Swift cannot call: one typed wrapper per argument kind.
static inline CURLcode cg_curl_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
// Pointer-valued options: strings (copied by libcurl), slists, user data.
static inline CURLcode cg_curl_setopt_ptr(CURL *h, CURLoption o, const void *v) { return curl_easy_setopt(h, o, v); }
// curl_off_t-valued options must be passed as curl_off_t through the varargs.
static inline CURLcode cg_curl_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
// Write and header callbacks share curl_write_callback's signature.
static inline CURLcode cg_curl_setopt_write_callback(CURL *h, CURLoption o, curl_write_callback cb) { return curl_easy_setopt(h, o, cb); }
// The progress callback is how a running transfer is aborted from its own thread.
static inline CURLcode cg_curl_setopt_xferinfo(CURL *h, curl_xferinfo_callback cb) { return curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, cb); }
// curl_easy_getinfo is variadic too.
static inline CURLcode cg_curl_getinfo_long(CURL *h, CURLINFO i, long *out) { return curl_easy_getinfo(h, i, out); }
static inline CURLcode cg_curl_getinfo_ptr(CURL *h, CURLINFO i, void **out) { return curl_easy_getinfo(h, i, out); }
// The prereq callback runs once a connection is up (new or reused): tells a connect timeout from a read timeout.
static inline CURLcode cg_curl_setopt_prereq(CURL *h, curl_prereq_callback cb) { return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, cb); }

#endif
