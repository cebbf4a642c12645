// Every shim is a static inline in include/; SwiftPM needs one source file to build the target.
#include "lws_shims.h"
#include "curl_shims.h"
