#ifndef DNSTRAIL_CZLIB_SHIM_H
#define DNSTRAIL_CZLIB_SHIM_H
#include <zlib.h>
#endif
