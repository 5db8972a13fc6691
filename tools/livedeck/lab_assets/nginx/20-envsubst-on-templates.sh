#!/bin/sh
# Renders /etc/nginx/templates/*.template into /etc/nginx/conf.d/ with envsubst, replacing only
# variables that are set in the environment (nginx's own $variables stay as they are).
set -e

ME=$(basename "$0")
template_dir=${NGINX_ENVSUBST_TEMPLATE_DIR:-/etc/nginx/templates}
suffix=${NGINX_ENVSUBST_TEMPLATE_SUFFIX:-.template}
output_dir=${NGINX_ENVSUBST_OUTPUT_DIR:-/etc/nginx/conf.d}

if [ -n "${NGINX_ENTRYPOINT_QUIET_LOGS:-}" ]; then exec 3>/dev/null; else exec 3>&1; fi

[ -d "$template_dir" ] || exit 0
if [ ! -w "$output_dir" ]; then
    echo >&3 "$ME: ERROR: $template_dir exists, but $output_dir is not writable"
    exit 0
fi

# A list like '${HOME} ${PATH} ...' of the set variables; word splitting is meant here.
# shellcheck disable=SC2016,SC2046
defined_envs=$(printf '${%s} ' $(env | cut -d= -f1))
find "$template_dir" -follow -type f -name "*$suffix" -print | while read -r template; do
    relative_path=${template#"$template_dir/"}
    output_path="$output_dir/${relative_path%"$suffix"}"
    mkdir -p "$(dirname "$output_path")"
    echo >&3 "$ME: Running envsubst on $template to $output_path"
    envsubst "$defined_envs" <"$template" >"$output_path"
done
