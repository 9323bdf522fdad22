-- wrk script: GetItem of uniformly random preloaded keys of `ferrodyn bench`'s table
-- (ferrodyn_bench: partition p<k/10>, sort key k%10, 10,000 items), to check the load
-- generator's figures against wrk's for the same request. Any signature is accepted by
-- servers that do not verify them (ferrodyn --auth none, Dynoxide, DynamoDB Local).
local items = 10000
function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):sub(8)) or 0))
end
request = function()
  local k = math.random(0, items - 1)
  local body = string.format(
    '{"TableName":"ferrodyn_bench","Key":{"pk":{"S":"p%d"},"sk":{"N":"%d"}}}', math.floor(k / 10), k % 10)
  return wrk.format("POST", "/", {
    ["Content-Type"] = "application/x-amz-json-1.0",
    ["X-Amz-Target"] = "DynamoDB_20120810.GetItem",
    ["X-Amz-Date"] = "20260101T000000Z",
    ["Authorization"] = "AWS4-HMAC-SHA256 Credential=AKIDBENCH/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=0000000000000000000000000000000000000000000000000000000000000000",
  }, body)
end
response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("non-200: " .. status .. " " .. body .. "\n")
  end
end
