-- GET over a list of paths (one per line in the file named by BENCH_PATHS), round robin per
-- thread, so many distinct cache keys are exercised.
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1])
end
