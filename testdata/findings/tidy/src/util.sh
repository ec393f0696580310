echo serving
exec busybox sleep 3600
