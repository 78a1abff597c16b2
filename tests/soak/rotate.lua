-- wrk script of `make soak`: every connection alternates GET / and
-- GET /healthz. Headers given with -H (Connection: close) still apply:
-- wrk.format adds wrk.headers to each request.
local paths = { "/", "/healthz" }
local n = 0

request = function()
	n = n + 1
	return wrk.format("GET", paths[n % #paths + 1])
end
