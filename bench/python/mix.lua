-- wrk script for bench/python/run.py: the request mix, over the seeded users.
-- BENCH_MIX: "get" (GET /Users/{id}), "filter" (GET /Users?filter=userName eq "…"),
-- "post" (POST /Users, a new user each time) or "mix" (45% / 45% / 10%).
local mode = os.getenv("BENCH_MIX") or "mix"
local tag = os.getenv("BENCH_TAG") or tostring(os.time())
local ids, names = {}, {}
local counter = 0
local tid = 0
local headers = {
  ["Authorization"] = "Bearer bench-token",
  ["Content-Type"] = "application/scim+json",
}

local thread_no = 0
function setup(thread)
  thread_no = thread_no + 1
  thread:set("tid", thread_no)
end

function init(args)
  tid = tonumber(wrk.thread:get("tid")) or 0
  for line in io.lines(args[1]) do
    local id, name = line:match("^(%S+)%s+(%S+)$")
    if id then
      ids[#ids + 1] = id
      names[#names + 1] = name
    end
  end
end

local function encode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function post()
  local name = string.format("bench-%s-%d-%d@example.com", tag, tid, counter)
  local body = '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],'
    .. '"userName":"' .. name .. '","externalId":"x-' .. tid .. '-' .. counter .. '",'
    .. '"active":true,"displayName":"Bench User",'
    .. '"name":{"givenName":"Bench","familyName":"User"},'
    .. '"emails":[{"type":"work","primary":true,"value":"' .. name .. '"}]}'
  return wrk.format("POST", "/v2/Users", headers, body)
end

function request()
  counter = counter + 1
  local i = (counter * 7919 + tid * 104729) % #ids + 1
  local slot = counter % 20
  if mode == "get" or (mode == "mix" and slot < 9) then
    return wrk.format("GET", "/v2/Users/" .. ids[i], headers)
  elseif mode == "filter" or (mode == "mix" and slot < 18) then
    return wrk.format("GET", "/v2/Users?filter=" .. encode('userName eq "' .. names[i] .. '"'), headers)
  else
    return post()
  end
end
