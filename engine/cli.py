"""The ``tsunagu`` command line: init, validate, route, test, demo-data, serve."""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

from engine.errors import CaseError, ConfigError, TsunaguError
from engine.pack import DEFAULT_PACK, load_pack

EXIT_OK, EXIT_FAIL, EXIT_INVALID = 0, 1, 2
DEFAULT_DATA = os.environ.get("TSUNAGU_DATA", "./data")


def _pack(args):
    return load_pack(Path(args.config))


def _read_case(path: str) -> dict:
    """A case file (YAML or JSON; ``-`` is standard input) as a mapping.

    Bounded (engine/bounded.py): size, nesting, aliases and digit counts are checked before
    anything is built; a UTF-8 BOM is accepted.
    """
    from engine.bounded import MAX_BYTES, InputLimit, check_json, check_yaml, decode, json_number
    try:
        # One byte past the cap is enough to refuse a file as too big, without loading it whole.
        if path == "-":
            raw = sys.stdin.buffer.read(MAX_BYTES + 1)
        else:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_BYTES + 1)
    except OSError as err:
        raise TsunaguError(f"{path}: ケースのファイルを読めません（{err.strerror or err}）。パスを確かめてください") from err
    try:
        text = decode(raw, path)
        if path.endswith(".json"):
            check_json(text, path)
            number = lambda t: json_number(t, path)   # noqa: E731
            data = json.loads(text, parse_int=number, parse_float=number)
        else:
            check_yaml(text, path)
            data = yaml.safe_load(text)
    except InputLimit as err:
        raise TsunaguError(str(err)) from None
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        mark = getattr(err, "problem_mark", None)
        line = mark.line + 1 if mark else getattr(err, "lineno", "?")
        raise TsunaguError(f"{path} {line}行目: ケースのファイルの書き方に誤りがあります（{getattr(err, 'problem', None) or err}）") from err
    except (RecursionError, ValueError) as err:
        raise TsunaguError(f"{path}: ケースのファイルを読めません（{type(err).__name__}）。内容を確かめてください") from None
    if not isinstance(data, dict):
        raise TsunaguError(f"{path}: ケースは「項目: 値」の形で書いてください")
    return data


def cmd_validate(args) -> int:
    pack = _pack(args)
    print(f"設定パック「{pack.name}」は有効です（版 {pack.version}、ルール {len(pack.rules)} 件、"
          f"機関 {len(pack.agencies)} 件、会議 {len(pack.meetings)} 件）。")
    return EXIT_OK


def explain(decision_json: dict, proposal_note: str = "会議で利用の適否を協議") -> str:
    """The decision as readable Japanese."""
    lines = []
    if decision_json["priority"] == "urgent":
        lines.append("【緊急】この相談は緊急として扱ってください。")
    for title, key in (("事業", "programs"), (f"提案する事業（{proposal_note}）", "proposed_programs"),
                       ("つなぐ機関", "agencies"), ("会議", "meetings"), ("提案する地域資源", "resources")):
        names = "、".join(x["name"] for x in decision_json.get(key) or ()) or "なし"
        lines.append(f"{title}: {names}")
    lines.append("")
    lines.append("なぜこの振り分けか:")
    for i, t in enumerate(decision_json["trace"], 1):
        basis = f"出典『{t['source']}』" if t.get("source") else f"法令: {t['law']}" if t.get("law") else "市の方針"
        lines.append(f" {i}. {t['label']} — {t['reason']}（{basis}）")
    for w in decision_json.get("warnings", []):
        lines.append(f"注意: {w}")
    lines.append(f"（設定の版: {decision_json['config_version']}）")
    return "\n".join(lines)


def cmd_route(args) -> int:
    from engine.rules.decide import decide_prepared
    from engine.rules.facts import missing_required, prepare
    from engine.rules.sentences import proposed_note
    pack = _pack(args)
    prepared = prepare(pack, _read_case(args.case))        # CaseError: every bad value, as the form says it
    missing = missing_required(pack.intake.fields, prepared.case)
    if missing:                                            # the form refuses these too: no routing on half a case
        raise CaseError(missing)
    result = decide_prepared(pack, prepared).to_json(pack)
    print(explain(result, proposed_note(pack)) if args.explain else json.dumps(result, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_test(args) -> int:
    from engine.changes.scenarios import render_failure, run_all
    pack = _pack(args)
    results = run_all(pack)
    failed = [r for r in results if not r.passed]
    for r in failed:
        print(render_failure(r, pack), end="\n\n")
    print(f"シナリオ {len(results)} 件: 成功 {len(results) - len(failed)} 件、失敗 {len(failed)} 件")
    return EXIT_FAIL if failed or not results else EXIT_OK


def _where(args) -> str:
    """The data folder, or the PostgreSQL URL from --database / TSUNAGU_DATABASE_URL (no fallback)."""
    from storage import location
    return location(args.data, getattr(args, "database", None))


def _shown(where: str) -> str:
    from storage.pg_database import is_url, redact
    return redact(where) if is_url(where) else where


def cmd_demo_data(args) -> int:
    from storage import open_repository
    from engine.casework.demo import mark_store, save_demo, store_kind
    pack = _pack(args)
    with open_repository(_where(args)) as repo:
        if not store_kind(repo):
            mark_store(repo, "demo")           # refused when the store holds real cases
        count = save_demo(repo, pack, args.cases, seed=args.seed)
    _audit(args, "demo_data", count=count)
    print(f"デモケースを {count} 件作りました（{_shown(_where(args))}）。すべて架空の人物です。")
    return EXIT_OK


def _open_live(args):
    from storage import open_repository
    from engine.changes.versions import live_pack
    repo = open_repository(_where(args))
    return repo, live_pack(repo, args.config)


def cmd_impact(args) -> int:
    from engine.changes.impact import preview
    from engine.pack import load_pack as load_draft
    draft = load_draft(Path(args.draft))
    repo, live = _open_live(args)
    with repo:
        result = repo.read_cases(lambda cases: preview(cases, live, draft))
    out = {"evaluated": result.evaluated, "changed": list(result.changed)}
    if result.errors:
        out["errors"] = list(result.errors)
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_versions(args) -> int:
    from engine.changes.versions import history
    repo, _ = _open_live(args)
    with repo:
        for v in history(repo):
            mark = "＊公開中" if v.live else ""
            extra = f"（{v.rolled_back_to} に戻す）" if v.rolled_back_to else ""
            print(f"{v.id}\t{v.created_at}\t{v.author}\t{v.kind}{extra}\t{v.reason}\t{mark}")
    return EXIT_OK


def cmd_publish(args) -> int:
    from engine.pack import read_sources
    from engine.changes.versions import ensure_live, publish
    repo, _ = _open_live(args)
    with repo:
        info = publish(repo, read_sources(Path(args.draft)), args.author, args.reason, ensure_live(repo, args.config),
                       audit=lambda version: _pending(args, "config_publish", version=version))
    print(f"版 {info.id} を公開しました（{info.author}「{info.reason}」）。")
    return EXIT_OK


def cmd_rollback(args) -> int:
    from engine.changes.versions import rollback
    repo, _ = _open_live(args)
    with repo:
        info = rollback(repo, args.version, args.author, args.reason,
                        audit=lambda version: _pending(args, "config_rollback", version=version, target=args.version))
    print(f"版 {args.version} の内容を、新しい版 {info.id} として公開しました（{info.author}「{info.reason}」）。")
    return EXIT_OK


def cmd_case(args) -> int:
    """Cases as JSON for scripts and support staff: both routings, referrals, owner, next date."""
    import datetime as dt

    from engine.casework.duties import case_view, involves, is_overdue
    from engine.casework.wareki import today as japan_today
    from engine.errors import did_you_mean
    repo, pack = _open_live(args)
    today = dt.date.fromisoformat(args.today) if args.today else japan_today()
    with repo:
        if args.action == "show":
            if not args.case_id:
                raise TsunaguError("ケースIDを指定してください（例: tsunagu case show C20261130-1a2b3c）")
            case = repo.get_case(args.case_id)
            if case is None:
                raise TsunaguError(f"ケース {args.case_id} は見つかりません。tsunagu case list で ID を確かめてください。")
            out = case_view(pack, case, today)
        else:
            if args.agency and args.agency not in pack.ids("agencies"):
                raise TsunaguError(f"機関「{args.agency}」は名簿にありません。{did_you_mean(args.agency, pack.ids('agencies'))}")

            def wanted(case) -> bool:
                return (not args.overdue or is_overdue(pack, case, today)) and (not args.agency or involves(case, args.agency))
            out = repo.read_cases(lambda cases: [case_view(pack, c, today) for c in cases if wanted(c)])
            out.sort(key=lambda c: (c["next_due"] or "9999", str(c["id"])))
    print(json.dumps(out, ensure_ascii=False, indent=2))
    return EXIT_OK


def cmd_user(args) -> int:
    import getpass
    from storage import open_users
    users = open_users(_where(args))
    if args.action == "list":
        for u in users.users():
            print(f"{u.id}\t{u.name}\t{','.join(u.roles)}\t{u.agency or ''}\t{'無効' if u.disabled else ''}")
        return EXIT_OK
    if not args.user_id:
        raise TsunaguError("ログインIDを指定してください（例: tsunagu user add yamada --role admin）")
    if args.action == "disable":
        users.set_disabled(args.user_id)
        _audit(args, "user_disable", target=args.user_id)
        print(f"{args.user_id} を無効にしました。")
        return EXIT_OK
    password = os.environ.get("TSUNAGU_PASSWORD") or getpass.getpass("パスワード（10文字以上）: ")
    if args.action == "add":
        pack = _pack(args)
        unknown = [r for r in args.role if r not in pack.ids("roles")]
        if unknown or not args.role:
            from engine.errors import did_you_mean
            raise TsunaguError(f"役割 {unknown or '（なし）'} はありません。{did_you_mean((unknown or [''])[0], pack.ids('roles'))}")
        if args.agency and args.agency not in pack.ids("agencies"):
            from engine.errors import did_you_mean
            raise TsunaguError(f"機関「{args.agency}」は名簿にありません。{did_you_mean(args.agency, pack.ids('agencies'))}")
        users.add(args.user_id, args.name or args.user_id, args.role, password, args.agency)
        _audit(args, "user_add", target=args.user_id)
        print(f"{args.user_id} を作りました（役割: {', '.join(args.role)}）。")
    else:
        users.reset_password(args.user_id, password)
        _audit(args, "user_reset", target=args.user_id)
        print(f"{args.user_id} のパスワードを変えました。")
    return EXIT_OK


def _actor() -> str:
    return f"cli:{os.environ.get('USER', 'admin')}"


def _audit(args, action: str, **fields) -> None:
    from storage import open_audit
    open_audit(_where(args)).append(_actor(), action, **fields)


def _pending(args, action: str, **fields):
    """An audit entry written with the store change it records (``Repository.set_meta``)."""
    from storage import open_audit
    from storage.audit import PendingEntry
    return PendingEntry(open_audit(_where(args)), _actor(), action, fields)


def cmd_audit(args) -> int:
    from storage import open_audit
    # create=False: verifying must never make a missing log look like a new, empty one.
    verdict = open_audit(_where(args), create=False).verify()
    print(verdict.message, file=sys.stdout if verdict.ok else sys.stderr)
    return EXIT_OK if verdict.ok else EXIT_INVALID


def cmd_backup(args) -> int:
    from storage import is_url
    where = _where(args)
    if is_url(where):
        from storage.transfer import backup_database
        manifest = backup_database(where, args.out)
        counts = "、".join(f"{n} {manifest['counts'][t]} 件" for t, n in (("cases", "ケース"), ("audit", "監査ログ")))
        print(f"{args.out} に PostgreSQL（{_shown(where)}）をバックアップしました（{counts}）。")
        return EXIT_OK
    from storage.backup import backup
    manifest = backup(args.data, args.out)
    print(f"{args.out} にバックアップしました（{manifest['files']} ファイル）。")
    return EXIT_OK


def cmd_restore(args) -> int:
    from storage import is_url, location
    # Only where the command line names: a restore never lands somewhere by default.
    where = location(None, args.database) if args.database else args.data
    if not where:
        raise TsunaguError("復元先を --data（フォルダ）か --database（PostgreSQL の URL）で指定してください。")
    if is_url(where):
        from storage.transfer import restore_database
        manifest = restore_database(args.archive, where, force=args.force)
        print(f"PostgreSQL（{_shown(where)}）に復元しました（ケース {manifest['counts']['cases']} 件、"
              f"{manifest['created']} のバックアップ）。件数と監査ログのつながりを確かめました。")
        return EXIT_OK
    from storage.backup import restore
    manifest = restore(args.archive, args.data, force=args.force)
    print(f"{args.data} に復元しました（{manifest['files']} ファイル、{manifest['created']} のバックアップ）。監査ログは正しくつながっています。")
    return EXIT_OK


def cmd_init(args) -> int:
    from engine.pack.init import init_pack
    written = init_pack(args.folder, args.city)
    pack = load_pack(Path(args.folder))
    print(f"{args.folder} に「{pack.name}」の設定パックを作りました（{len(written)} ファイル）。\n"
          f"placeholder: true の項目を市の値に書き換え、tsunagu validate --config {args.folder} と "
          f"tsunagu test --config {args.folder} で確かめてください（書き方: docs/pack-guide.md）。")
    return EXIT_OK


def _check_data_matches(pack, data: str) -> None:
    """A data folder started on one city's pack is never served with another city's."""
    from storage import is_url
    if not is_url(data) and not Path(data).is_dir():
        return
    from engine.changes.versions import live_version_id, pack_of
    from storage import open_repository
    with open_repository(data) as repo:
        live = live_version_id(repo)
        if live is None:
            return
        started = pack_of(repo, live)
    if started.id != pack.id:
        raise TsunaguError(f"データのフォルダ {data} は「{started.name}」の設定で使われています。"
                           f"「{pack.name}」には別のデータのフォルダを --data で指定してください（ケースが混ざらないように）。")


def cmd_migrate(args) -> int:
    from storage import is_url
    from storage.transfer import NAMES, migrate
    if not is_url(args.to):
        raise TsunaguError("--to には移行先の PostgreSQL の URL（postgresql://…）を指定してください。")
    counts = migrate(args.data, args.to)
    print(f"{args.data} を PostgreSQL（{_shown(args.to)}）に移しました: "
          + "、".join(f"{NAMES[t]} {n} 件" for t, n in counts.items())
          + "。両方の件数と監査ログのつながりを確かめました。"
          "これからは TSUNAGU_DATABASE_URL（または --database）でこのデータベースを指定して起動してください。")
    return EXIT_OK


def cmd_db(args) -> int:
    from storage.pg_database import Database, applied, is_url, upgrade
    where = _where(args)
    if not is_url(where):
        raise TsunaguError("tsunagu db は PostgreSQL のデータベースに使います。--database postgresql://… か "
                           "TSUNAGU_DATABASE_URL で接続先を指定してください。")
    db = Database.open(where)                   # opening applies what is missing, under a lock
    try:
        names = upgrade(db)
        with db.transaction() as conn:
            versions = applied(conn)
    finally:
        db.release()
    print(f"{db.place} のスキーマは版 {max(versions)} です" + (f"（適用: {', '.join(names)}）。" if names else "（最新）。"))
    return EXIT_OK


def cmd_serve(args) -> int:
    pack = _pack(args)                  # a broken pack is reported here, not as a blank page
    _check_data_matches(pack, _where(args))
    app = Path(__file__).resolve().parents[1] / "ui" / "app.py"
    env = {**os.environ, "TSUNAGU_DATA": str(args.data), "TSUNAGU_CONFIG": str(args.config)}
    from storage import is_url
    where = _where(args)
    if is_url(where):
        # Reach the database (and bring its schema up to date) before the server starts, so a wrong
        # URL is one clear message here, not an error page in every browser.
        from storage import open_repository
        open_repository(where).close()
        env["TSUNAGU_DATABASE_URL"] = where
    # Loopback by default: the data is 要配慮個人情報; a pilot puts nginx with HTTPS in front.
    command = [sys.executable, "-m", "streamlit", "run", str(app), "--server.port", str(args.port),
               "--server.address", args.address, "--server.headless", "true", "--browser.gatherUsageStats", "false",
               "--client.toolbarMode", "minimal"]
    print(f"つなぐ を http://{args.address}:{args.port} で起動します（データ: {_shown(where)}、設定: {args.config}）", flush=True)
    # Replace this process with Streamlit: one PID, so a service manager's or a shell's signal
    # reaches the server itself and no child is left holding the port.
    os.execve(sys.executable, command, env)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tsunagu", description="つなぐ: 重層的支援体制整備事業の相談受付と振り分け")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_text, description=help_text)
        p.add_argument("--config", default=os.environ.get("TSUNAGU_CONFIG", str(DEFAULT_PACK)),
                       help="設定パックのフォルダ（既定: 同梱の既定のパック）")
        p.set_defaults(func=func)
        return p

    def data_args(p: argparse.ArgumentParser, required: bool = False) -> None:
        p.add_argument("--data", default=None if required else DEFAULT_DATA, required=required,
                       help="データのフォルダ（埋め込みの保存先。既定: TSUNAGU_DATA か ./data）")
        p.add_argument("--database", default=None,
                       help="PostgreSQL の URL（postgresql://…）。既定: TSUNAGU_DATABASE_URL。指定するとフォルダの代わりに使う")

    p = sub.add_parser("init", help="新しい市の設定パックをひな形から作る", description="新しい市の設定パックをひな形から作る")
    p.add_argument("folder", help="作るフォルダ（まだないか、空のフォルダ）")
    p.add_argument("--city", required=True, help="市の名前（例: さくら市）")
    p.set_defaults(func=cmd_init)
    add("validate", cmd_validate, "設定パックを検証する")
    p = add("route", cmd_route, "ケース（YAML / JSON）を振り分けて JSON で表示する")
    p.add_argument("case", help="ケースのファイル（- で標準入力）")
    p.add_argument("--explain", action="store_true", help="日本語の説明で表示する")
    add("test", cmd_test, "設定パックのシナリオをすべて実行する")
    p = add("demo-data", cmd_demo_data, "架空のデモケースを作って保存する")
    data_args(p)
    p.add_argument("--cases", type=int, default=200)
    p.add_argument("--seed", type=int, default=2026)
    p = add("impact", cmd_impact, "下書きの設定で保存済みのケースを振り分け直し、変わるケースを JSON で表示する")
    p.add_argument("draft", help="下書きの設定パックのフォルダ")
    data_args(p)
    p = add("versions", cmd_versions, "設定の版の一覧（公開の履歴）")
    data_args(p)
    p = add("publish", cmd_publish, "設定パックを検証し、シナリオを実行して、公開する")
    p.add_argument("draft", help="公開する設定パックのフォルダ")
    p.add_argument("--author", required=True, help="公開する人")
    p.add_argument("--reason", required=True, help="公開の理由")
    data_args(p)
    p = add("rollback", cmd_rollback, "以前の版の内容を新しい版として公開し直す")
    p.add_argument("version", help="戻す版のID（tsunagu versions で確認）")
    p.add_argument("--author", required=True)
    p.add_argument("--reason", required=True)
    data_args(p)
    p = add("case", cmd_case, "保存したケースを JSON で表示する（推薦と確定した振り分け、つなぎ、主担当、次の期限）")
    p.add_argument("action", choices=["list", "show"])
    p.add_argument("case_id", nargs="?", help="show するケースのID")
    p.add_argument("--overdue", action="store_true", help="期限切れ（状態の期限・受理されないつなぎ）のケースだけ")
    p.add_argument("--agency", default=None, help="この機関が関わるケースだけ（主担当・つなぎ先・振り分け先。roster.yaml の ID）")
    p.add_argument("--today", default=None, help=argparse.SUPPRESS)
    data_args(p)
    p = add("user", cmd_user, "職員のアカウントを管理する（add / disable / reset / list）")
    p.add_argument("action", choices=["add", "disable", "reset", "list"])
    p.add_argument("user_id", nargs="?")
    p.add_argument("--name", default="")
    p.add_argument("--role", action="append", default=[], help="役割（roles.yaml の ID、複数可）")
    p.add_argument("--agency", default=None, help="所属機関（roster.yaml の ID）")
    data_args(p)
    p = add("audit", cmd_audit, "監査ログを確かめる（verify）")
    p.add_argument("action", choices=["verify"])
    data_args(p)
    p = add("backup", cmd_backup, "データの一貫したバックアップを作る（アプリの動作中でもよい）")
    data_args(p)
    p.add_argument("--out", required=True)
    p = add("restore", cmd_restore, "バックアップから復元する")
    p.add_argument("archive")
    p.add_argument("--data", default=None, help="復元先のデータのフォルダ（空のもの）")
    p.add_argument("--database", default=None, help="復元先の PostgreSQL の URL（空のもの）")
    p.add_argument("--force", action="store_true", help="空でない復元先の中身を置き換える")
    p = add("migrate", cmd_migrate, "埋め込みのデータ（フォルダ）を空の PostgreSQL のデータベースに移す")
    p.add_argument("--data", default=DEFAULT_DATA, help="移行元のデータのフォルダ")
    p.add_argument("--to", required=True, help="移行先の PostgreSQL の URL（空のデータベース）")
    p = add("db", cmd_db, "PostgreSQL のスキーマを最新にする（upgrade）")
    p.add_argument("action", choices=["upgrade"])
    data_args(p)
    p = add("serve", cmd_serve, "画面（Streamlit）を起動する")
    data_args(p)
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8501)))
    p.add_argument("--address", default=os.environ.get("TSUNAGU_ADDRESS", "127.0.0.1"),
                   help="待ち受けるアドレス（既定 127.0.0.1。他の端末から使うときは前段の nginx 経由で）")
    return parser


def main(argv: list[str] | None = None) -> int:
    from storage.private import restrict_umask
    restrict_umask()                 # every file the CLI creates is the service account's alone
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as err:
        print(err.render(), file=sys.stderr)
        return EXIT_INVALID
    except CaseError as err:
        print("ケースに誤りがあります:\n" + "\n".join("- " + i.render() for i in err.issues), file=sys.stderr)
        return EXIT_INVALID
    except TsunaguError as err:
        print(str(err), file=sys.stderr)
        return EXIT_INVALID


if __name__ == "__main__":
    sys.exit(main())
