#!/usr/bin/env bash
# Turn `livedeck refresh --json` into pull requests and issues on GitHub (nginx.yml runs it).
#
#   tools/ci/refresh-prs.sh REFRESH.json
#   tools/ci/refresh-prs.sh --job-failed [FILE]   # the run failed before that: the issue only
#
# One pull request per refreshed deck, on the branch livedeck/refresh/DECK made from the
# commit checked out: the deck's new record and its before/after pictures (committed, so the
# body shows them), the body `livedeck refresh` wrote for it, the label livedeck-refresh. A deck
# whose slides overflow opens a draft, and the body says why. A deck that failed goes into one
# open issue labelled livedeck-refresh-failed (created, or commented on if open already).
# Exit 1 when some deck failed (after every pull request was made), else 0. Whoever reported a
# failure leaves .livedeck/reported, so a later `--job-failed` step does not report it twice.
#
# Environment: GH_TOKEN (a token that may push branches and open pull requests and issues),
# GITHUB_REPOSITORY, GITHUB_SERVER_URL (https://github.com), BASE (the branch the pull requests
# go to; default: the current branch). Needs git, gh and python3.
set -euo pipefail

say() { printf 'refresh-prs.sh: %s\n' "$*" >&2; }
JSON=${1:?usage: refresh-prs.sh REFRESH.json | --job-failed [FILE]}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
command -v gh >/dev/null || { say "needs the GitHub CLI (gh)"; exit 3; }
RUN_URL="${GITHUB_SERVER_URL:-https://github.com}/${GITHUB_REPOSITORY:-}/actions/runs/${GITHUB_RUN_ID:-}"

report_failure() { # FILE: open the one failure issue, or comment on it while it is open
  gh label create livedeck-refresh-failed --force --color d93f0b \
    --description "livedeck refresh could not refresh a deck" >/dev/null
  local issue
  issue=$(gh issue list --label livedeck-refresh-failed --state open --json number --jq '.[0].number // empty')
  if [[ -n $issue ]]; then
    gh issue comment "$issue" --body-file "$1"
    say "commented on issue #$issue"
  else
    gh issue create --title "livedeck refresh failed" --label livedeck-refresh-failed --body-file "$1"
    say "opened an issue"
  fi
  mkdir -p .livedeck && : >.livedeck/reported
}

if [[ $JSON == --job-failed ]]; then
  [[ -e .livedeck/reported ]] && exit 0
  {
    echo "The daily refresh failed before it could refresh the decks (a setup step, a registry"
    echo "that did not answer, or livedeck itself). Run: $RUN_URL"
    if [[ -s ${2:-} ]]; then
      echo
      echo '```'
      tail -c 4000 "$2"
      echo '```'
    fi
  } >"$WORK/failed.md"
  report_failure "$WORK/failed.md"
  exit 0
fi

BASE=${BASE:-$(git rev-parse --abbrev-ref HEAD)}
START=$(git rev-parse HEAD)

# One line per deck: name, deck, changed, draft, failed; its body and record as files.
python3 - "$JSON" "$WORK" <<'PY'
import json, pathlib, sys
data = json.load(open(sys.argv[1], encoding="utf-8"))
work = pathlib.Path(sys.argv[2])
with open(work / "decks.tsv", "w", encoding="utf-8") as plan:
    for deck in data["decks"]:
        name = deck["name"]
        (work / f"{name}.body.md").write_text(deck["body"], encoding="utf-8")
        (work / f"{name}.title").write_text(deck["title"], encoding="utf-8")
        pictures = " ".join(p[k] for p in deck["pictures"] for k in ("before", "after"))
        (work / f"{name}.pictures").write_text(pictures, encoding="utf-8")
        changed = "1" if deck["changed"] and deck["error"] is None else "0"
        draft = "1" if deck["draft"] else "0"
        failed = "1" if deck["error"] is not None else "0"
        plan.write(f"{name}\t{deck['deck']}\t{changed}\t{draft}\t{failed}\n")
PY

gh label create livedeck-refresh --force --color 0e8a16 --description "records and slides livedeck refresh proposes" >/dev/null
git config user.name >/dev/null || git config user.name "livedeck refresh"
git config user.email >/dev/null || git config user.email "livedeck-refresh@users.noreply.github.com"

failed=()
while IFS=$'\t' read -r name deck changed draft bad; do
  if [[ $bad == 1 ]]; then
    failed+=("$name")
    continue
  fi
  [[ $changed == 1 ]] || continue
  branch=livedeck/refresh/$name
  record=${deck%.md}.record.yaml
  title=$(<"$WORK/$name.title")
  git switch --quiet -C "$branch" "$START"
  git add -- "$record"
  read -r -a pictures <"$WORK/$name.pictures" || true
  ((${#pictures[@]} == 0)) || git add --force -- "${pictures[@]}"
  git commit --quiet -m "$title" -m "Written by livedeck refresh; see the pull request for what changed."
  git push --quiet --force origin "$branch"
  flags=()
  [[ $draft == 1 ]] && flags=(--draft)
  if [[ $(gh pr view "$branch" --json state --jq .state 2>/dev/null || true) == OPEN ]]; then
    gh pr edit "$branch" --title "$title" --body-file "$WORK/$name.body.md"
    if [[ $draft == 1 ]]; then gh pr ready "$branch" --undo; else gh pr ready "$branch"; fi
    say "updated the pull request of $branch"
  else
    gh pr create --base "$BASE" --head "$branch" --title "$title" \
      --body-file "$WORK/$name.body.md" --label livedeck-refresh "${flags[@]}"
    say "opened a pull request for $branch"
  fi
  git switch --quiet --detach "$START"
done <"$WORK/decks.tsv"

if ((${#failed[@]})); then
  report=$WORK/failed.md
  {
    echo "livedeck refresh failed for: ${failed[*]}"
    echo
    echo "Run: $RUN_URL"
    echo
    for name in "${failed[@]}"; do cat "$WORK/$name.body.md"; echo; done
  } >"$report"
  report_failure "$report"
  exit 1
fi
