"""HTML pages: login, forms, records, account and user administration."""

from __future__ import annotations

import hmac
import secrets
import urllib.parse

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from forms_server import export, records, rectification, webforms
from forms_server.auth import (
    LOGIN_CSRF_COOKIE,
    ROLES,
    SESSION_COOKIE,
    check_csrf,
    check_login_csrf,
    hash_password,
    login_csrf,
    password_problem,
    principal,
    require,
    safe_next,
    verify_password,
)
from forms_server.bodies import form_data
from forms_server.errors import NOT_SAVED, HTTPError
from forms_server.journal import StorageError
from forms_server.records import check_upload
from forms_server.store import Conflict

PAGE_SIZE = 50


def render(request: Request, template: str, context: dict, status: int = 200) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, template, context, status_code=status
    )


def download(content: bytes, media: str, name: str) -> Response:
    """``content`` as a file to save, named ``name`` (any characters, RFC 5987)."""
    return Response(content, media_type=media,
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''{urllib.parse.quote(name)}"})  # fmt: skip


# Login, logout, first administrator ------------------------------------------


def with_login_csrf(request: Request, response: Response, token: str) -> Response:
    """Pages posting before any session exists carry a double-submit CSRF cookie."""
    secure = request.app.state.settings.secure_cookies
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=secure)
    return response


async def login_page(request: Request) -> Response:
    if getattr(request.scope.get("user"), "is_authenticated", False):
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_form(request)


def _login_form(
    request: Request, error: str = "", username: str = "", status: int = 200
) -> Response:
    token = login_csrf(request)
    response = render(
        request,
        "login.html",
        {
            "csrf": token,
            "error": error,
            "username": username,
            "next": safe_next(request.query_params.get("next")),
            "setup": request.app.state.setup_code is not None,
        },
        status,
    )
    return with_login_csrf(request, response, token)


async def login(request: Request) -> Response:
    state = request.app.state
    form = await form_data(request, max_bytes=64 * 1024)
    check_login_csrf(request, form)
    username = str(form.get("username", "")).strip()[:50]
    password = str(form.get("password", ""))[:200]
    address = request.client.host if request.client else "unknown"
    keys = (f"user:{username}", f"ip:{address}")
    wait = state.throttle.wait(*keys)
    if wait:
        minutes = max(1, (wait + 59) // 60)
        return _login_form(request, f"登录失败次数过多，请 {minutes} 分钟后再试", username, 429)
    user = state.store.get_user(username) if username else None
    ok = await run_in_threadpool(
        verify_password, user.get("password_hash") if user else None, password
    )
    if not ok or not user.get("active", True):
        state.throttle.fail(*keys)
        return _login_form(request, "用户名或密码不正确", username, 401)
    state.throttle.reset(keys[0])
    response = RedirectResponse(safe_next(str(form.get("next", ""))), status_code=303)
    await start_session(request, response, username)
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


async def start_session(request: Request, response: Response, username: str) -> None:
    """A new server-side session for ``username``, its id in an HttpOnly cookie."""
    state = request.app.state
    sid, _ = await run_in_threadpool(
        state.store.create_session, username, state.settings.session_hours
    )
    response.set_cookie(
        SESSION_COOKIE,
        sid,
        max_age=state.settings.session_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=state.settings.secure_cookies,
    )


async def logout(request: Request) -> Response:
    user = principal(request)
    check_csrf(request, await form_data(request, max_bytes=64 * 1024))
    if user.sid:
        await run_in_threadpool(request.app.state.store.delete_session, user.sid)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


async def setup_page(request: Request) -> Response:
    if request.app.state.setup_code is None:
        raise HTTPError(404, "系统已有用户，首次设置已完成")
    if request.method == "GET":
        return _setup_form(request)
    state = request.app.state
    form = await form_data(request, max_bytes=64 * 1024)
    check_login_csrf(request, form)
    values = {k: str(form.get(k, "")).strip() for k in ("code", "username", "display_name")}
    password, repeat = str(form.get("password", "")), str(form.get("password2", ""))
    errors = {}
    if not hmac.compare_digest(values["code"], state.setup_code):
        errors["code"] = "设置码不正确（见数据目录中的 setup-code.txt）"
    errors.update(_user_fields_problems(values["username"], password, repeat))
    if errors:
        return _setup_form(request, values, errors, 422)
    user = {
        "username": values["username"],
        "display_name": values["display_name"] or values["username"],
        "role": "admin",
        "project": None,
        "active": True,
        "password_hash": hash_password(password),
    }
    await run_in_threadpool(state.store.add_user, user, "setup")
    state.finish_setup()
    return RedirectResponse("/login", status_code=303)


def _setup_form(request, values=None, errors=None, status=200) -> Response:
    token = login_csrf(request)
    response = render(
        request,
        "setup.html",
        {
            "csrf": token,
            "values": values or {},
            "errors": errors or {},
            "code_file": request.app.state.setup_file,
        },
        status,
    )
    return with_login_csrf(request, response, token)


def _user_fields_problems(username: str, password: str, repeat: str) -> dict[str, str]:
    errors = {}
    if (
        not username
        or not username.replace("_", "").replace(".", "").isalnum()
        or len(username) > 30
    ):
        errors["username"] = "用户名为 1–30 位字母、数字、下划线或点"
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    elif password != repeat:
        errors["password2"] = "两次输入的密码不一致"
    return errors


# Forms -----------------------------------------------------------------------


async def forms_index(request: Request) -> Response:
    user = principal(request)
    forms = request.app.state.forms
    groups: dict[str, list] = {}
    for form in sorted(forms.values(), key=lambda f: f.code):
        groups.setdefault("检查表" if form.is_checklist else "记录", []).append(form)
    return render(request, "forms_index.html", {"groups": groups, "can_submit": user.can_act})


def _form(request: Request):
    code = request.path_params["code"]
    form = request.app.state.forms.get(code)
    if form is None:
        raise HTTPError(404, f"没有表格 {code}")
    return form


async def form_page(request: Request) -> Response:
    user = principal(request)
    form = _form(request)
    if request.method == "GET":
        if not user.can_act:
            raise HTTPError(403, f"{user.role_name}角色不能提交记录")
        values = {}
        if form.project_field and user.project:
            values[f"f.{form.project_field.key}"] = user.project
        if form.date_field:
            values[f"f.{form.date_field.key}"] = request.app.state.store.now().date().isoformat()
        return _form_response(request, form, values, {}, secrets.token_hex(16))
    post = await form_data(request)
    check_csrf(request, post)
    client_key = str(post.get("client_key", ""))[:64] or None
    data, uploads, unknown = await webforms.parse(form, post)
    state = request.app.state
    errors = dict(unknown)
    max_bytes = state.settings.max_upload_mb * 1024 * 1024
    for name, files in uploads.items():
        for upload in files:
            refused = check_upload(upload, max_bytes)
            if refused:
                errors[_error_path(name)] = refused[1]
    try:
        clean, scored = records.prepare(state, user, form, data)
    except HTTPError as exc:
        if exc.status != 422:
            raise
        errors.update(exc.errors)
        clean = None
    if errors:
        if uploads:
            errors.setdefault("attachments", "出于安全原因，浏览器不会保留已选择的照片，请重新选择")
        return _form_response(
            request, form, webforms.values_for_template(data), errors, client_key, 422
        )
    stored: dict[str, list[str]] = {}
    try:
        for name, files in uploads.items():
            stored[name] = []
            for upload in files:
                doc = await run_in_threadpool(
                    state.store.add_attachment,
                    upload.data,
                    records.sniff_image(upload.data),
                    upload.name,
                    user.username,
                )
                stored[name].append(doc["attachment_id"])
        webforms.replace_placeholders(clean, form, stored)
        doc, _ = await records.store_submission(state, user, form, clean, scored, client_key)
    except Conflict as exc:
        raise HTTPError(409, str(exc)) from exc
    except StorageError as exc:
        # The record was not stored (photos saved before the failure stay, referenced by
        # nothing); the person keeps everything they typed and can retry.
        errors = {"storage": f"{exc}。{NOT_SAVED}"}
        if uploads:
            errors["attachments"] = "出于安全原因，浏览器不会保留已选择的照片，请重新选择"
        return _form_response(
            request, form, webforms.values_for_template(data), errors, client_key, 503
        )
    return RedirectResponse(f"/submissions/{doc['number']}?new=1", status_code=303)


def _error_path(name: str) -> str:
    head, _, rest = name.partition(".")
    return f"fields.{rest}" if head == "f" else f"items.{rest}"


def pending_deductions(request: Request, projects: dict[str, str]) -> dict[str, list[dict]]:
    """Re-issued notices since each 管理处's previous assessment: to deduct in this one (QP-10 §4.8)."""
    store, codes = request.app.state.store, list(projects)
    assessments = store.find_submissions(
        form=request.app.state.company.assessment_form, projects=codes
    )
    return rectification.to_deduct(assessments, store.find("notices", codes, reissued=True), codes)


def _form_response(request, form, values, errors, client_key, status=200) -> Response:
    user = principal(request)
    projects = request.app.state.company.project_names()
    if user.role == "staff":
        projects = {user.project: projects.get(user.project, user.project)}
    deductions = (
        pending_deductions(request, projects)
        if form.code == request.app.state.company.assessment_form
        else {}
    )
    return render(
        request,
        "form.html",
        {
            "form": form,
            "values": values,
            "errors": errors,
            "client_key": client_key,
            "projects": projects,
            "csrf": user.csrf,
            "deductions": deductions,
            # The record's own date cannot be after today (`validation.not_in_future`).
            "today": request.app.state.store.now().date().isoformat(),
        },
        status,
    )


# Submissions -------------------------------------------------------------------


def _filters(request: Request) -> dict[str, str]:
    q = request.query_params
    return {k: q.get(k, "").strip() for k in ("form", "project", "from", "to", "submitted_by")}


def _query(request: Request, filters: dict[str, str]) -> list[dict]:
    user = principal(request)
    projects = user.visible_projects()
    if filters["project"]:
        if projects is not None and filters["project"] not in projects:
            raise HTTPError(403, "您只能查看本管理处的记录")
        projects = [filters["project"]]
    return request.app.state.store.find_submissions(
        form=filters["form"] or None,
        projects=projects,
        date_from=filters["from"] or None,
        date_to=filters["to"] or None,
        submitted_by=filters["submitted_by"] or None,
    )


async def submissions_page(request: Request) -> Response:
    filters = _filters(request)
    user = principal(request)
    forms = request.app.state.forms
    found = [records.present(d, forms.get(d["form"]), user) for d in _query(request, filters)]
    page = request.query_params.get("page", "1")
    page = int(page) if page.isdigit() and int(page) > 0 else 1
    pages = max(1, (len(found) + PAGE_SIZE - 1) // PAGE_SIZE)
    shown = found[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    form = request.app.state.forms.get(filters["form"]) if filters["form"] else None
    query = urllib.parse.urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "submissions.html",
        {
            "rows": shown,
            "total": len(found),
            "page": page,
            "pages": pages,
            "filters": filters,
            "query": query,
            "form": form,
            "forms": request.app.state.forms,
            "list_fields": [f for f in form.fields if f.list] if form else [],
        },
    )


async def submissions_csv(request: Request) -> Response:
    filters = _filters(request)
    user = principal(request)
    form = request.app.state.forms.get(filters["form"]) if filters["form"] else None
    found = [
        records.present(d, request.app.state.forms.get(d["form"]), user)
        for d in _query(request, filters)
    ]
    content = export.submissions_csv(found, form, request.app.state.company.project_names())
    name = f"{filters['form'] or '记录'}-{request.app.state.store.now():%Y%m%d}.csv"
    return download(content, "text/csv; charset=utf-8", name)


def visible_submission(request: Request) -> dict:
    user = principal(request)
    doc = request.app.state.store.get_submission(request.path_params["number"])
    if doc is None or not user.can_see(doc["project"]):
        # The same answer whether it does not exist or is not yours.
        raise HTTPError(404, f"没有记录 {request.path_params['number']}")
    return doc


async def submission_page(request: Request) -> Response:
    doc = visible_submission(request)
    form = request.app.state.forms.get(doc["form"])
    shown = records.present(doc, form, principal(request))
    return render(
        request,
        "submission.html",
        {
            "derived": request.app.state.store.derived_of(doc["number"]),
            "doc": shown,
            "values": shown["values"],
            "form": form,
            "new": request.query_params.get("new") == "1",
        },
    )


async def attachment(request: Request) -> Response:
    user = principal(request)
    store = request.app.state.store
    attachment_id = request.path_params["attachment_id"]
    found = store.get_attachment(attachment_id) if len(attachment_id) == 32 else None
    if found is None:
        raise HTTPError(404, "没有此照片")
    meta, content = found
    owner = store.attachment_owner(attachment_id)
    if meta["uploaded_by"] != user.username and (owner is None or not user.can_see(owner)):
        raise HTTPError(404, "没有此照片")
    return Response(
        content,
        media_type=meta["content_type"],
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


# Account and administration -------------------------------------------------------


async def password_page(request: Request) -> Response:
    user = principal(request)
    if user.via != "session":
        raise HTTPError(403, "请在浏览器中登录后修改密码")
    if request.method == "GET":
        done = request.query_params.get("done") == "1"
        return render(request, "password.html", {"errors": {}, "csrf": user.csrf, "done": done})
    form = await form_data(request, max_bytes=64 * 1024)
    check_csrf(request, form)
    store = request.app.state.store
    current = store.get_user(user.username)
    errors = {}
    if not await run_in_threadpool(
        verify_password, current.get("password_hash"), str(form.get("current", ""))
    ):
        errors["current"] = "当前密码不正确"
    errors.update(
        {
            k: v
            for k, v in _user_fields_problems(
                user.username, str(form.get("password", "")), str(form.get("password2", ""))
            ).items()
            if k != "username"
        }
    )
    if errors:
        return render(
            request, "password.html", {"errors": errors, "csrf": user.csrf, "done": False}, 422
        )
    await run_in_threadpool(
        store.update_user,
        user.username,
        {"password_hash": hash_password(str(form["password"]))},
        user.username,
    )
    # A new password ends every session of the account (a stolen cookie stops working
    # too); this browser goes on in a new one.
    await run_in_threadpool(store.delete_sessions_of, user.username)
    response = RedirectResponse("/account/password?done=1", status_code=303)
    await start_session(request, response, user.username)
    return response


async def users_page(request: Request) -> Response:
    user = require(request, "admin")
    store = request.app.state.store
    context = {
        "users": store.list_users(),
        "tokens": store.list_tokens(),
        "csrf": user.csrf,
        "errors": {},
        "values": {},
        "new_token": None,
        "message": "",
    }
    if request.method == "GET":
        return render(request, "users.html", context)
    form = await form_data(request, max_bytes=64 * 1024)
    check_csrf(request, form)
    action = form.get("action")
    status = 200
    try:
        if action == "create":
            values = {
                k: str(form.get(k, "")).strip()
                for k in ("username", "display_name", "role", "project", "team")
            }
            errors = _user_problems(
                request, values, str(form.get("password", "")), str(form.get("password2", ""))
            )
            if errors:
                context.update(errors=errors, values=values)
                status = 422
            else:
                await run_in_threadpool(
                    store.add_user, _new_user(values, str(form["password"])), user.username
                )
                context["message"] = f"已创建用户 {values['username']}"
        elif action == "update":
            context["message"] = await _update_user(request, form, user)
        elif action == "token":
            owner = str(form.get("username", ""))
            if store.get_user(owner) is None:
                raise HTTPError(422, f"用户 {owner} 不存在")
            token, doc = await run_in_threadpool(
                store.create_token,
                owner,
                str(form.get("name", "")).strip()[:50] or "API",
                user.username,
            )
            context["new_token"] = token
            context["message"] = (
                f"已为 {owner} 创建令牌 {doc['token_id']}；令牌只显示这一次，请立即复制保存"
            )
        elif action == "revoke":
            await run_in_threadpool(
                store.revoke_token, str(form.get("token_id", "")), user.username
            )
            context["message"] = "令牌已吊销"
        else:
            raise HTTPError(400, "未知操作")
    except Conflict as exc:
        raise HTTPError(409, str(exc)) from exc
    context.update(users=store.list_users(), tokens=store.list_tokens())
    return render(request, "users.html", context, status)


def _user_problems(request, values, password, repeat) -> dict[str, str]:
    errors = _user_fields_problems(values["username"], password, repeat)
    if values["role"] not in ROLES:
        errors["role"] = "请选择角色"
    if values["role"] == "staff" and values["project"] not in request.app.state.company.projects:
        errors["project"] = "员工必须属于一个管理处"
    if values.get("team") and values["team"] not in request.app.state.company.teams:
        errors["team"] = "请选择班组"
    if request.app.state.store.get_user(values["username"]):
        errors["username"] = f"用户名 {values['username']} 已存在"
    return errors


def _new_user(values: dict, password: str) -> dict:
    return {
        "username": values["username"],
        "display_name": values["display_name"] or values["username"],
        "role": values["role"],
        "project": values["project"] if values["role"] == "staff" else None,
        "team": (values.get("team") or None) if values["role"] == "staff" else None,
        "active": True,
        "password_hash": hash_password(password),
    }


async def _update_user(request: Request, form, admin) -> str:
    store = request.app.state.store
    username = str(form.get("username", ""))
    target = store.get_user(username)
    if target is None:
        raise HTTPError(404, f"用户 {username} 不存在")
    role = str(form.get("role", target["role"]))
    project = str(form.get("project", "")) or None
    if role not in ROLES:
        raise HTTPError(422, "角色无效", errors={"role": "请选择角色"})
    if role == "staff" and project not in request.app.state.company.projects:
        raise HTTPError(422, "员工必须属于一个管理处", errors={"project": "员工必须属于一个管理处"})
    active = form.get("active") == "1"
    if username == admin.username and (role != "admin" or not active):
        raise HTTPError(409, "不能停用自己或取消自己的管理员角色")
    team = str(form.get("team", "")) or None
    if team and team not in request.app.state.company.teams:
        raise HTTPError(422, "班组无效", errors={"team": "请选择班组"})
    changes = {
        "role": role,
        "project": project if role == "staff" else None,
        "team": team if role == "staff" else None,
        "active": active,
    }
    password = str(form.get("password", ""))
    if password:
        problem = password_problem(password)
        if problem:
            raise HTTPError(422, problem, errors={"password": problem})
        changes["password_hash"] = hash_password(password)
    await run_in_threadpool(store.update_user, username, changes, admin.username)
    if password or not active:
        await run_in_threadpool(store.delete_sessions_of, username)
    return f"已更新用户 {username}"
