#!/usr/bin/env bash
# The main demo: set up a virtualenv with nbsched, show a trigger preview in the terminal, then
# open the quickstart notebook in JupyterLab (in-memory store; nothing else to install).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --python-only
.venv/bin/python -m nbsched preview "0 9 * * mon-fri" --tz Europe/Berlin -n 5
# JupyterLab saves outputs into the notebooks it runs: open copies in demo/ (ignored by git),
# so running the demo leaves the tracked notebooks as they are (a newer tracked one is copied
# again)
mkdir -p demo
for notebook in notebooks/*.ipynb; do
  copy="demo/$(basename "$notebook")"
  if [ ! -e "$copy" ] || [ "$notebook" -nt "$copy" ]; then cp "$notebook" "$copy"; fi
done
# JupyterLab refuses to start as root unless told to (containers and fresh VMs often are root)
root_flag=()
if [ "$(id -u)" -eq 0 ]; then root_flag=(--allow-root); fi
exec .venv/bin/jupyter lab demo/01-quickstart.ipynb "${root_flag[@]}" "$@"
