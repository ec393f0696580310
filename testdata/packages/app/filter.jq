# Keep the active records and summarise them per region.
[.[] | select(.active)]
| group_by(.region)
| map({region: .[0].region, count: length, total: (map(.amount) | add)})
