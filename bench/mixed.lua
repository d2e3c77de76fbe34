-- Mixed traffic: 90 % flight search over many keys (BENCH_PATHS), 5 % seat map, 4 % booking,
-- 1 % cancel, in a fixed interleaving per 100 requests so the mix is exact over any run.
-- BENCH_BOOKINGS: "schedule_id price" lines to book; BENCH_CANCELS: booking numbers made
-- beforehand (each wrk thread cancels its own stride of them, never one twice); BENCH_TOKEN.
local paths, items, cancels = {}, {}, {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
for line in io.lines(os.getenv("BENCH_BOOKINGS")) do
  local id, price = line:match("(%d+) (%d+)")
  items[#items + 1] = {id, price}
end
for line in io.lines(os.getenv("BENCH_CANCELS")) do cancels[#cancels + 1] = line end
local token = os.getenv("BENCH_TOKEN")
local threads = tonumber(os.getenv("BENCH_THREADS") or "2")
local auth = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}

local counter = 1
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end

local i, s, b, c = 0, 0, 0, 0
request = function()
  i = i + 1
  local slot = i % 100
  if slot < 90 then
    s = s + 1
    return wrk.format("GET", paths[(s * 7 + (tid or 1)) % #paths + 1])
  elseif slot < 95 then
    local it = items[(i % #items) + 1]
    return wrk.format("GET", "/api/bookings/seat-map/" .. it[1])
  elseif slot < 99 then
    b = b + 1
    local it = items[((b * threads + (tid or 1)) % #items) + 1]
    local body = string.format(
      '{"scheduleId":%s,"passengers":[{"name":"홍길동","nameEn":"HONG GILDONG","birth":"1990-01-01","gender":"M"}],' ..
      '"contactInfo":{"email":"bench@cloudjet.test","phone":"010-1234-5678"},"paymentMethod":"CARD","totalAmount":%s}',
      it[1], it[2])
    return wrk.format("POST", "/api/bookings", auth, body)
  else
    c = c + 1
    local n = cancels[((c - 1) * threads + ((tid or 1) - 1)) % #cancels + 1]
    return wrk.format("POST", "/api/bookings/" .. n .. "/cancel", auth, "{}")
  end
end
