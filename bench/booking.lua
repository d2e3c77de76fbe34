-- POST /api/bookings: one passenger, no seat, on schedules taken round robin from BENCH_BOOKINGS
-- (lines "schedule_id price"), so there are no seat conflicts. BENCH_TOKEN authorises.
local items = {}
for line in io.lines(os.getenv("BENCH_BOOKINGS")) do
  local id, price = line:match("(%d+) (%d+)")
  items[#items + 1] = {id, price}
end
local token = os.getenv("BENCH_TOKEN")
local i = 0
request = function()
  i = i + 1
  local it = items[(i % #items) + 1]
  local body = string.format(
    '{"scheduleId":%s,"passengers":[{"name":"홍길동","nameEn":"HONG GILDONG","birth":"1990-01-01","gender":"M"}],' ..
    '"contactInfo":{"email":"bench@cloudjet.test","phone":"010-1234-5678"},"paymentMethod":"CARD","totalAmount":%s}',
    it[1], it[2])
  return wrk.format("POST", "/api/bookings",
                    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token}, body)
end
