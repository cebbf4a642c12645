#ifndef CG_LWS_SHIMS_H
#define CG_LWS_SHIMS_H
#include <libwebsockets.h>

// LWS_PRE is a macro expression Swift does not import; lws_write needs that much headroom.
static inline size_t cg_lws_pre(void) { return LWS_PRE; }

#endif
