-- pixel.lua - the wrk load of the pixel-path benchmark.
--
-- One static request, built once (no Lua runs per request, so wrk
-- spends its core on the network, as with a plain wrk URL): GET of the
-- open pixel in BENCH_PATH with an iPhone Mail User-Agent and an
-- X-Forwarded-For address (BENCH_XFF: one inside the networks of the
-- run's GeoIP City database; the server trusts 127.0.0.1 as a proxy),
-- so every open is classified and located.  BENCH_CLOSE=1 adds "Connection: close".  At the end prints
-- one line:
--   BENCH requests=N duration_us=D p50_us=X p99_us=Y max_us=Z
--         connect=E read=E write=E status=E timeout=E

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH") or "/o/x.gif"
wrk.headers["User-Agent"] =
	"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148"
wrk.headers["X-Forwarded-For"] = os.getenv("BENCH_XFF") or "198.51.100.20"
if os.getenv("BENCH_CLOSE") == "1" then
	wrk.headers["Connection"] = "close"
end

function done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format(
		"BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d max_us=%d " ..
		"connect=%d read=%d write=%d status=%d timeout=%d\n",
		summary.requests, summary.duration, latency:percentile(50),
		latency:percentile(99), latency.max, e.connect, e.read, e.write,
		e.status, e.timeout))
end
