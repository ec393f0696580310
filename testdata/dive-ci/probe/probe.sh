#!/bin/bash
# usage: probe.sh IMAGE 'dive-ci content or -' [extra dive args...]
img=$1; cfg=$2; shift 2
d=$(mktemp -d); cp "$(cd "$(dirname "$0")" && pwd)"/$img $d/
[ "$cfg" != "-" ] && printf '%s\n' "$cfg" > $d/.dive-ci
cd $d; env -u CI dive --source docker-archive $img --ci "$@" >out 2>err; rc=$?
sed 's/\x1b\[[0-9;]*m//g' out | grep -v -e 'Image Source' -e Extracting -e Analyzing -e '^Count' -e '^Inefficient' -e '  /a$'  -e '^$'| sed 's/^/  out| /'
sed 's/\x1b\[[0-9;]*m//g' err | sed 's/^/  err| /'
echo "  rc=$rc"
