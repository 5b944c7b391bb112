"""A small checklist definition that exercises every scoring mode, for tests."""

from __future__ import annotations

import copy

import yaml

from forms_server.definitions import FormDef, parse_form

CHECKLIST_YAML = """
code: QR-10-99
title: 测试检查表
version: A/0
status: 受控
owner: 品质管理部
prepared_by: 陈晓东
reviewed_by: 张慧敏
approved_by: 张慧敏
effective: 2026-03-01
review_due: 2027-03-01
revisions:
  - {version: A/0, date: 2026-02-20, summary: 首次发布, approved_by: 张慧敏}
procedure: QP-10
rectification: 保洁绿化班
description: 测试用检查表。
fields:
  - {key: project, label: 管理处, type: project, required: true}
  - {key: date, label: 检查日期, type: date, required: true}
  - {key: inspector, label: 检查人, type: signature, required: true}
  - {key: phone, label: 联系电话, type: phone}
  - {key: shift, label: 班次, type: choice, options: [白班, 夜班]}
  - {key: areas, label: 检查区域, type: multichoice, options: [大堂, 电梯, 车库]}
  - {key: people, label: 在岗人数, type: number, integer: true, min: 0, max: 50}
  - {key: rain, label: 雨天, type: yesno}
  - {key: remark, label: 备注, type: textarea, max_length: 50}
sections:
  - key: env
    title: 环境
    items:
      - {key: a1, text: 大堂地面干净, mode: pass_fail, points: 4}
      - key: a2
        text: 电梯轿厢整洁
        mode: tiered
        points: 4
        tiers: [{label: 符合, points: 4}, {label: 基本符合, points: 2}, {label: 不符合, points: 0}]
      - {key: a3, text: 垃圾桶无满溢, mode: deduct, points: 3, per: 0.2}
      - {key: a4, text: 标识完好, mode: fixed, points: 3, deduction: 2}
      - {key: a5, text: 泳池水质, mode: pass_fail, points: 2, na: true}
  - key: duty
    title: 岗位
    items:
      - {key: b1, text: 无睡岗, mode: pass_fail, points: 2, critical: {effect: deduct, points: 10}}
      - {key: b2, text: 无脱岗, mode: pass_fail, points: 2, critical: {effect: fail}}
scoring:
  total: 20
  na: exclude
  bands:
    - {grade: 优秀, min: 18}
    - {grade: 良好, min: 16}
    - {grade: 合格, min: 12}
    - {grade: 不合格, min: 0}
  adjustments:
    - {key: praise, label: 业主书面表扬, points: 1, max_times: 2}
    - {key: late, label: 整改逾期, points: -2}
  downgrade:
    - {key: incident, label: 发生严重安全事故}
"""


def raw_checklist() -> dict:
    return copy.deepcopy(yaml.safe_load(CHECKLIST_YAML))


def checklist(**changes) -> FormDef:
    raw = raw_checklist()
    raw.update(changes)
    form, problems = parse_form("data/forms/QR-10-99.yml", raw)
    assert problems == [], problems
    return form


def perfect_items() -> dict:
    return {
        "a1": {"result": "合格"},
        "a2": {"result": "符合"},
        "a3": {"count": 0},
        "a4": {"result": "合格"},
        "a5": {"result": "合格"},
        "b1": {"result": "合格"},
        "b2": {"result": "合格"},
    }


PROJECTS = {"CH": "翠湖花园管理处", "JJ": "锦江华府管理处"}
