#!/usr/bin/env bash
# Deploy benchmark: a built site to moto's S3 + CloudFront server on 127.0.0.1.
# Three runs: the first deploy (everything goes up), a redeploy with nothing changed,
# and a redeploy after one post was edited and rebuilt. Prints wall time and the
# requests each sent (the summary line's count).
# usage: examples/bench_deploy.sh PATH/TO/enishi SITE_DIR [POST_TO_EDIT]
#   needs moto_server on PATH or ENISHI_MOTO_SERVER (pip install 'moto[server]'),
#   and python3 with boto3 beside it (moto's virtualenv has it).
set -eu
bin=$(readlink -f "$1"); site=$(readlink -f "$2"); post=${3:-}
moto=${ENISHI_MOTO_SERVER:-$(command -v moto_server)}
python=$(dirname "$moto")/python
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$moto" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
moto_pid=$!
trap 'kill $moto_pid 2>/dev/null' EXIT
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_REGION=ap-northeast-1 \
  AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_EC2_METADATA_DISABLED=true \
  AWS_CONFIG_FILE=/nonexistent AWS_SHARED_CREDENTIALS_FILE=/nonexistent
for _ in $(seq 100); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.2; done
dist=$("$python" - <<PY
import boto3
e = "http://127.0.0.1:$port"
boto3.client("s3", endpoint_url=e).create_bucket(Bucket="enishi-bench",
    CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
cf = boto3.client("cloudfront", endpoint_url=e, region_name="us-east-1")
d = cf.create_distribution(DistributionConfig={"CallerReference": "bench", "Comment": "", "Enabled": True,
    "Origins": {"Quantity": 1, "Items": [{"Id": "s3", "DomainName": "enishi-bench.s3.amazonaws.com",
        "S3OriginConfig": {"OriginAccessIdentity": ""}}]},
    "DefaultCacheBehavior": {"TargetOriginId": "s3", "ViewerProtocolPolicy": "allow-all",
        "CachePolicyId": "658327ea-f89d-4fab-a63d-7e88639e58f6"}})
print(d["Distribution"]["Id"])
PY
)
cd "$site"
if grep -q '^\[deploy\]' site.toml; then echo "$site/site.toml has a [deploy] section already; bench a copy without it" >&2; exit 2; fi
cp site.toml site.toml.bench-orig
trap 'mv site.toml.bench-orig site.toml; kill $moto_pid 2>/dev/null' EXIT
printf '\n[deploy]\ntarget = "s3://enishi-bench"\ncloudfront_distribution_id = "%s"\n' "$dist" >> site.toml
"$bin" build >/dev/null
run() {
  local t0 t1 line
  t0=$(date +%s%N)
  line=$("$bin" deploy | tail -1)
  t1=$(date +%s%N)
  printf '%-9s %6.2f s  %s\n' "$1" "$(echo "($t1-$t0)/1000000000" | bc -l)" "$line"
}
run first
run unchanged
post=${post:-$(find content/posts -name '*.md' | sort | head -1)}
printf '\n追記 %s\n' "$(date +%s%N)" >> "$post"
"$bin" build >/dev/null
run edited
