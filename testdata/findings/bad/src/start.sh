#!/bin/sh
exec node /app/dist/app.js
