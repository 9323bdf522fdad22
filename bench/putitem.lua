-- wrk script: PutItem of ~200-byte items with random keys into table "bench".
-- Any Authorization header is accepted by `ferrodyn --auth none` (the default).
local pad = string.rep("x", 160)
local counter = 0
function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end
request = function()
  counter = counter + 1
  local key = string.format("k%08x%08x", math.random(0, 0x7fffffff), counter)
  local body = '{"TableName":"bench","Item":{"pk":{"S":"' .. key .. '"},"n":{"N":"' .. counter .. '"},"pad":{"S":"' .. pad .. '"}}}'
  return wrk.format("POST", "/", {
    ["Content-Type"] = "application/x-amz-json-1.0",
    ["X-Amz-Target"] = "DynamoDB_20120810.PutItem",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0",
  }, body)
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("non-200: " .. status .. " " .. body .. "\n")
  end
end
