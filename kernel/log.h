/* Serial log: one line per event, "keel: <subsystem>: <message>". */
#ifndef KEEL_LOG_H
#define KEEL_LOG_H

enum log_level { LOG_OFF, LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void klog(enum log_level level, const char *subsys, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define log_err(sub, ...) klog(LOG_ERR, sub, __VA_ARGS__)
#define log_warn(sub, ...) klog(LOG_WARN, sub, __VA_ARGS__)
#define log_info(sub, ...) klog(LOG_INFO, sub, __VA_ARGS__)
#define log_debug(sub, ...) klog(LOG_DEBUG, sub, __VA_ARGS__)

#endif
