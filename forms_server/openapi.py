"""The OpenAPI 3.1 document served at /api/openapi.json.

Written out by hand so that it says exactly what the handlers do; the API tests
validate real responses against these schemas.
"""

from __future__ import annotations

from copy import deepcopy

from forms_server import audit
from forms_server.acknowledgements import CURRENT, MISSING, OUTDATED, READ_TYPES
from forms_server.bodies import JSON_TOO_LARGE
from forms_server.report_views import KINDS

PROBLEM = {"$ref": "#/components/schemas/Problem"}
REPORT_KIND = {"type": "string", "enum": list(KINDS)}
HISTORY_TABLE = {"type": "string", "enum": list(audit.TABLES)}


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": PROBLEM}}}


COMMON_ERRORS = {
    "400": _error("请求有误：网址查询参数或请求体不是有效的 UTF-8 文本，或请求体不是有效的 JSON"),
    "401": _error("未登录或令牌无效"),
    "403": _error("角色或管理处不允许"),
}

SCHEMAS: dict = {
    "Problem": {
        "type": "object",
        "required": ["status", "title", "detail"],
        "properties": {
            "status": {"type": "integer"},
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "每个有问题的字段一条，path 如 fields.phone、items.lobby_floor.count",
                "items": {
                    "type": "object",
                    "required": ["path", "message"],
                    "properties": {"path": {"type": "string"}, "message": {"type": "string"}},
                },
            },
        },
    },
    "Me": {
        "type": "object",
        "required": ["username", "display_name", "role", "project"],
        "properties": {
            "username": {"type": "string"},
            "display_name": {"type": "string"},
            "role": {"type": "string", "enum": ["staff", "quality", "auditor", "admin"]},
            "project": {"type": ["string", "null"]},
            "team": {"type": ["string", "null"]},
            "csrf_token": {
                "type": ["string", "null"],
                "description": "以会话（浏览器 Cookie）访问时，写操作须在请求头 X-CSRF-Token 中带上此值；令牌访问时为 null",
            },
        },
    },
    "FormSummary": {
        "type": "object",
        "required": ["code", "title", "version", "status", "procedure", "checklist"],
        "properties": {
            "code": {"type": "string", "examples": ["QR-10-03"]},
            "title": {"type": "string"},
            "version": {"type": "string", "examples": ["A/0"]},
            "status": {"type": "string", "enum": ["草稿", "审核中", "受控", "作废"]},
            "procedure": {"type": "string"},
            "checklist": {"type": "boolean"},
        },
    },
    "FormDefinition": {
        "type": "object",
        "description": "表格定义（格式见作业指导书 WI-QP01-02）",
        "required": [
            "code",
            "title",
            "version",
            "status",
            "procedure",
            "fields",
            "sections",
            "scoring",
        ],
        "properties": {
            "code": {"type": "string"},
            "title": {"type": "string"},
            "version": {"type": "string"},
            "status": {"type": "string"},
            "procedure": {"type": "string"},
            "description": {"type": "string"},
            "workflow": {"type": ["string", "null"]},
            "fields": {
                "type": "array",
                "items": {"type": "object", "required": ["key", "label", "type", "required"]},
            },
            "sections": {
                "type": "array",
                "items": {"type": "object", "required": ["key", "title", "items"]},
            },
            "scoring": {"type": ["object", "null"]},
        },
    },
    "ItemAnswer": {
        "type": "object",
        "description": "一个检查项目的评定：result 为选项（如 合格、不合格、符合、不适用）；按处扣分的项目填 count",
        "additionalProperties": False,
        "properties": {
            "result": {"type": "string"},
            "count": {"type": "integer", "minimum": 0, "maximum": 999},
            "severity": {"type": "string", "enum": ["一般", "严重"]},
            "note": {"type": "string", "maxLength": 500},
            "location": {"type": "string", "maxLength": 100},
            "photos": {
                "type": "array",
                "items": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                "maxItems": 3,
            },
        },
    },
    "SubmissionInput": {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "fields": {"type": "object", "description": "表头栏目：key → 值"},
            "items": {
                "type": "object",
                "additionalProperties": {"$ref": "#/components/schemas/ItemAnswer"},
            },
            "adjustments": {
                "type": "object",
                "additionalProperties": {"type": "integer", "minimum": 0},
            },
            "downgrade": {"type": "object", "additionalProperties": {"type": "boolean"}},
        },
    },
    "Score": {
        "type": ["object", "null"],
        "properties": {
            "total": {"type": ["number", "null"]},
            "score": {"type": ["number", "null"]},
            "grade": {"type": ["string", "null"]},
            "failed": {"type": "boolean"},
            "downgraded": {"type": "boolean"},
            "serious": {"type": "integer"},
            "general": {"type": "integer"},
            "sections": {"type": "array"},
            "nonconformities": {"type": "array"},
        },
    },
    "Submission": {
        "type": "object",
        "required": [
            "number",
            "form",
            "form_version",
            "project",
            "record_date",
            "submitted_by",
            "submitted_at",
            "values",
            "score",
        ],
        "properties": {
            "number": {"type": "string", "examples": ["QR-10-03-20261121-0003"]},
            "form": {"type": "string"},
            "form_version": {"type": "string"},
            "form_title": {"type": "string"},
            "project": {"type": ["string", "null"]},
            "record_date": {"type": "string", "format": "date"},
            "submitted_by": {"type": "string"},
            "submitted_at": {"type": "string", "format": "date-time"},
            "values": {"type": "object"},
            "items": {"type": "object"},
            "adjustments": {"type": "object"},
            "downgrade": {"type": "object"},
            "attachments": {"type": "array", "items": {"type": "string"}},
            "score": {"$ref": "#/components/schemas/Score"},
        },
    },
    "SubmissionList": {
        "type": "object",
        "required": ["total", "items"],
        "properties": {
            "total": {"type": "integer"},
            "items": {"type": "array", "items": {"$ref": "#/components/schemas/Submission"}},
        },
    },
    "Report": {
        "type": "object",
        "description": "报表内容；各报表的字段见其 kind："
        + "、".join(f"{kind}（{name}）" for kind, name in KINDS.items()),
        "required": ["kind", "title", "unit", "unit_name"],
        "properties": {
            "kind": REPORT_KIND,
            "title": {"type": "string"},
            "unit": {"type": "string", "description": "管理处代码、分公司代码或 ALL"},
            "unit_name": {"type": "string"},
            "month": {"type": "string"},
            "due": {"type": "string", "description": "月度报告的报送期限（次月 5 日）"},
            "months": {"type": "array", "items": {"type": "string"}},
        },
    },
    "Acknowledgement": {
        "type": "object",
        "required": ["username", "code", "version", "edition", "commit", "at"],
        "properties": {
            "username": {"type": "string"},
            "code": {"type": "string", "examples": ["QP-01"]},
            "version": {"type": "string", "examples": ["A/1"]},
            "edition": {"type": ["string", "null"], "description": "阅读时的手册版次，如 2026.1"},
            "commit": {"type": ["string", "null"], "description": "阅读时手册的 git 提交"},
            "at": {"type": "string", "format": "date-time"},
        },
    },
    "AcknowledgementRequest": {
        "type": "object",
        "required": ["code", "version"],
        "properties": {
            "code": {"type": "string"},
            "version": {"type": "string", "description": "所阅读的版本，须为现行版本"},
            "edition": {"type": ["string", "null"]},
            "commit": {"type": ["string", "null"]},
        },
    },
    "MyDocuments": {
        "type": "object",
        "required": ["username", "items"],
        "properties": {
            "username": {"type": "string"},
            "items": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": [
                        "code",
                        "title",
                        "type",
                        "version",
                        "url",
                        "state",
                        "acknowledged",
                    ],
                    "properties": {
                        "code": {"type": "string"},
                        "title": {"type": "string"},
                        "type": {"type": "string", "enum": list(READ_TYPES)},
                        "version": {"type": "string", "description": "现行版本"},
                        "url": {"type": "string"},
                        "state": {"type": "string", "enum": [CURRENT, OUTDATED, MISSING]},
                        "acknowledged": {
                            "type": ["object", "null"],
                            "description": "最近一次确认（可能是旧版本）",
                        },
                    },
                },
            },
        },
    },
    "AcknowledgementMatrix": {
        "type": "object",
        "required": ["edition", "commit", "documents", "readers"],
        "properties": {
            "edition": {"type": ["string", "null"]},
            "commit": {"type": ["string", "null"]},
            "documents": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["code", "title", "version", "type"],
                    "properties": {
                        "code": {"type": "string"},
                        "title": {"type": "string"},
                        "version": {"type": "string"},
                        "type": {"type": "string"},
                    },
                },
            },
            "readers": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["username", "done", "total", "documents"],
                    "properties": {
                        "username": {"type": "string"},
                        "display_name": {"type": ["string", "null"]},
                        "project": {"type": ["string", "null"]},
                        "team": {"type": ["string", "null"]},
                        "done": {"type": "integer", "description": "已确认现行版本的文件数"},
                        "total": {"type": "integer"},
                        "documents": {
                            "type": "object",
                            "description": "文件编号 → {state, version, at, edition, commit}",
                        },
                    },
                },
            },
        },
    },
    "RecordHistory": {
        "type": "object",
        "required": ["table", "number", "entries"],
        "properties": {
            "table": HISTORY_TABLE,
            "number": {"type": "string"},
            "entries": {
                "type": "array",
                "description": "按时间顺序的每次变更；hash 由本条内容和上一条的 hash（prev）计算，构成哈希链",
                "items": {
                    "type": "object",
                    "required": [
                        "seq",
                        "at",
                        "by",
                        "table",
                        "record",
                        "action",
                        "changes",
                        "digest",
                        "prev",
                        "hash",
                    ],
                    "properties": {
                        "seq": {"type": "integer"},
                        "at": {"type": "string", "format": "date-time"},
                        "by": {"type": "string"},
                        "table": {"type": "string"},
                        "record": {"type": "string"},
                        "action": {
                            "type": "string",
                            "description": "create、reinspect、reissue 或流程操作名（派单、回访…）",
                        },
                        "changes": {
                            "type": "object",
                            "description": "字段 → [原值， 新值]；创建时为空",
                        },
                        "digest": {
                            "type": ["string", "null"],
                            "description": "变更后记录内容的 sha256",
                        },
                        "prev": {"type": "string"},
                        "hash": {"type": "string"},
                    },
                },
            },
        },
    },
    "Attachment": {
        "type": "object",
        "required": ["id", "content_type", "size"],
        "properties": {
            "id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "content_type": {"type": "string"},
            "size": {"type": "integer"},
        },
    },
}


def _json(schema_name: str, description: str) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": f"#/components/schemas/{schema_name}"}}
        },
    }


CODE = {
    "name": "code",
    "in": "path",
    "required": True,
    "schema": {"type": "string", "pattern": "^QR-\\d{2}-\\d{2}$"},
}
NUMBER = {"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}
# Query values: an empty value means the default, as the pages' filter forms send it.
MONTH = {"type": "string", "pattern": "^((20[0-9]{2}|2100)-(0[1-9]|1[0-2]))?$"}
DATE = {"type": "string", "pattern": "^([0-9]{4}-[0-9]{2}-[0-9]{2})?$", "examples": ["2026-11-21"]}
#: Session (cookie) writes prove they come from the manual's own pages (`auth.check_header_csrf`).
CSRF_HEADER = {
    "name": "X-CSRF-Token",
    "in": "header",
    "required": False,
    "description": "以会话访问时必填（取自 /api/me 的 csrf_token）",
    "schema": {"type": "string"},
}
BODY_ERRORS = {
    "413": _error(JSON_TOO_LARGE),
    "415": _error("请求体不是 JSON"),
}

PATHS: dict = {
    "/api/me": {
        "get": {
            "summary": "当前用户",
            "operationId": "me",
            "responses": {"200": _json("Me", "当前用户"), **COMMON_ERRORS},
        }
    },
    "/api/forms": {
        "get": {
            "summary": "列出全部表格",
            "operationId": "listForms",
            "responses": {
                "200": {
                    "description": "表格清单",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["items"],
                                "properties": {
                                    "items": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/FormSummary"},
                                    }
                                },
                            }
                        }
                    },
                },
                **COMMON_ERRORS,
            },
        }
    },
    "/api/forms/{code}": {
        "get": {
            "summary": "取得一个表格的定义",
            "operationId": "getForm",
            "parameters": [CODE],
            "responses": {
                "200": _json("FormDefinition", "表格定义"),
                "404": _error("没有此表格"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/forms/{code}/submissions": {
        "post": {
            "summary": "提交一条记录（校验、评分、持久保存后才返回）",
            "operationId": "createSubmission",
            "parameters": [
                CODE,
                CSRF_HEADER,
                {
                    "name": "Idempotency-Key",
                    "in": "header",
                    "required": False,
                    "description": "重试同一提交时使用相同的值，服务只保存一次",
                    "schema": {"type": "string", "maxLength": 64},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": "#/components/schemas/SubmissionInput"}}
                },
            },
            "responses": {
                "201": _json("Submission", "已保存；返回记录编号和得分"),
                "404": _error("没有此表格"),
                "409": _error("表格不在受控状态，或相同提交正在处理"),
                **BODY_ERRORS,
                "422": _error("校验未通过：errors 列出每个字段的问题，记录未保存"),
                "503": _error("存储不可用（如磁盘已满），记录未保存"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/submissions": {
        "get": {
            "summary": "查询记录（员工只能看到本管理处）",
            "operationId": "listSubmissions",
            "parameters": [
                {"name": "form", "in": "query", "schema": {"type": "string"}},
                {"name": "project", "in": "query", "schema": {"type": "string"}},
                {"name": "from", "in": "query", "description": "记录日期不早于", "schema": DATE},
                {"name": "to", "in": "query", "description": "记录日期不晚于", "schema": DATE},
                {"name": "submitted_by", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 100},
                },
                {
                    "name": "offset",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 0, "default": 0},
                },
            ],
            "responses": {
                "200": _json("SubmissionList", "记录，最新的在前"),
                "422": _error("查询参数有误"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/submissions/{number}": {
        "get": {
            "summary": "取得一条记录",
            "operationId": "getSubmission",
            "parameters": [NUMBER],
            "responses": {
                "200": _json("Submission", "记录"),
                "404": _error("没有此记录（或不属于您的管理处）"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/reports/{kind}": {
        "get": {
            "summary": "报表（员工只能查看本管理处）",
            "operationId": "getReport",
            "parameters": [
                {
                    "name": "kind",
                    "in": "path",
                    "required": True,
                    "schema": REPORT_KIND,
                },
                {
                    "name": "unit",
                    "in": "query",
                    "description": "管理处代码（如 CH）、分公司代码（如 EAST）或 ALL",
                    "schema": {"type": "string"},
                },
                {
                    "name": "month",
                    "in": "query",
                    "description": "月度报告的月份，如 2026-11（默认本月）",
                    "schema": MONTH,
                },
                {
                    "name": "from",
                    "in": "query",
                    "description": "起始月份（默认结束月份前 5 个月；一次最多 24 个月）",
                    "schema": MONTH,
                },
                {
                    "name": "to",
                    "in": "query",
                    "description": "结束月份（默认本月）",
                    "schema": MONTH,
                },
            ],
            "responses": {
                "200": _json("Report", "报表"),
                "404": _error("没有此报表"),
                "422": _error("查询参数有误"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/acknowledgements": {
        "get": {
            "summary": "文件阅读确认矩阵（品质管理、审核员、管理员）",
            "operationId": "acknowledgementMatrix",
            "parameters": [
                {
                    "name": n,
                    "in": "query",
                    "required": False,
                    "description": d,
                    "schema": {"type": "string"},
                }
                for n, d in (
                    ("project", "管理处代码"),
                    ("team", "班组/部门"),
                    ("type", "质量手册、程序文件或作业指导书"),
                    ("state", "missing：只列有未确认文件的人员"),
                )
            ],
            "responses": {
                "200": _json("AcknowledgementMatrix", "确认矩阵"),
                "422": _error("查询参数有误"),
                **COMMON_ERRORS,
            },
        },
        "post": {
            "summary": "确认已阅读某文件的现行版本（员工、品质管理）",
            "operationId": "acknowledge",
            "parameters": [CSRF_HEADER],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/AcknowledgementRequest"}
                    }
                },
            },
            "responses": {
                "201": _json("Acknowledgement", "已记录（重复确认返回原记录）"),
                **BODY_ERRORS,
                "404": _error("没有此现行文件"),
                "409": _error("所读版本不是现行版本"),
                "422": _error("确认内容有误"),
                **COMMON_ERRORS,
            },
        },
    },
    "/api/acknowledgements/mine": {
        "get": {
            "summary": "我需要确认的现行文件及确认状态",
            "operationId": "myAcknowledgements",
            "parameters": [
                {
                    "name": "code",
                    "in": "query",
                    "required": False,
                    "description": "只查一个文件",
                    "schema": {"type": "string"},
                }
            ],
            "responses": {"200": _json("MyDocuments", "现行文件及状态"), **COMMON_ERRORS},
        }
    },
    "/api/history/{table}/{number}": {
        "get": {
            "summary": "一条记录、投诉、整改通知书或复查记录的完整变更历史",
            "operationId": "recordHistory",
            "parameters": [
                {
                    "name": "table",
                    "in": "path",
                    "required": True,
                    "schema": HISTORY_TABLE,
                },
                NUMBER,
            ],
            "responses": {
                "200": _json("RecordHistory", "变更历史"),
                "404": _error("没有此记录"),
                **COMMON_ERRORS,
            },
        }
    },
    "/api/attachments": {
        "post": {
            "summary": "上传一张照片（请求体为图片本身），返回的 id 用于记录中的照片栏目",
            "operationId": "uploadAttachment",
            "parameters": [
                CSRF_HEADER,
                {
                    "name": "X-Filename",
                    "in": "header",
                    "required": False,
                    "description": "原文件名，只用于显示；不能含路径（/ 或 \\）、“..”或控制字符",
                    "schema": {"type": "string"},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "image/jpeg": {"schema": {"type": "string", "format": "binary"}},
                    "image/png": {"schema": {"type": "string", "format": "binary"}},
                    "image/webp": {"schema": {"type": "string", "format": "binary"}},
                    "image/heic": {"schema": {"type": "string", "format": "binary"}},
                },
            },
            "responses": {
                "201": _json("Attachment", "已保存"),
                "413": _error("超过大小限制"),
                "415": _error("不是支持的图片格式"),
                "422": _error("空文件，或文件名含路径"),
                **COMMON_ERRORS,
            },
        }
    },
}


def document(company=None) -> dict:
    title = f"{company.short_name if company else ''}质量管理体系表单服务 API"
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": "1.0",
            "description": (
                "提交和查询质量记录。认证：请求头 Authorization: Bearer <令牌>（令牌由管理员创建）。"
                "错误统一返回 Problem 对象；校验失败（422）时 errors 列出每个字段的问题，此时记录未保存。"
            ),
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}, {"cookieAuth": []}],
        "paths": deepcopy(PATHS),
        "components": {
            "schemas": deepcopy(SCHEMAS),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "qms_session"},
            },
        },
    }
