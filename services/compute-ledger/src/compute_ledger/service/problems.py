"""The ledger's problem codes: the one table mapping each refusal to its status and zh-CN / en text."""

from opc_shared.errors import ProblemTable

PROBLEMS = ProblemTable(
    {
        "webhook_signature_invalid": (
            401,
            ("Webhook signature refused", "The call is not signed by this vendor: {reason}. Nothing was recorded."),
            ("Webhook 签名无效", "该调用未经此服务商签名：{reason}。未记录任何内容。"),
        ),
        "webhook_body_not_json": (
            400,
            ("Malformed webhook body", "The signed body is not a JSON object."),
            ("Webhook 请求体格式错误", "已签名的请求体不是 JSON 对象。"),
        ),
        "webhook_replayed": (
            409,
            ("Webhook already received", "A message with this webhook-id was already received; nothing was recorded."),
            ("Webhook 重复投递", "已收到过该 webhook-id 的消息，本次未记录任何内容。"),
        ),
        "vendor_suspended": (
            403,
            ("Vendor suspended", "This vendor is suspended; its calls are refused."),
            ("服务商已暂停", "该服务商已被暂停，其调用一律拒绝。"),
        ),
        "vendor_uscc_taken": (
            409,
            ("Vendor already registered", "A vendor with USCC {uscc} is already registered."),
            ("服务商已登记", "统一社会信用代码为 {uscc} 的服务商已登记。"),
        ),
        "invoice_conflict": (
            409,
            ("Invoice number already used", "Invoice {number} was already received with other content."),
            ("发票号码已使用", "发票 {number} 已以不同内容收到过。"),
        ),
        "reversal_refused": (
            409,
            ("Red-letter invoice refused", "{reason}"),
            ("红字发票被拒绝", "{reason}"),
        ),
        "pool_refused": (
            409,
            ("Pool operation refused", "{reason}"),
            ("资源池操作被拒绝", "{reason}"),
        ),
        "period_refused": (
            409,
            ("Period cannot close", "{reason}"),
            ("账期无法关闭", "{reason}"),
        ),
    }
)
