"""The ledger's own problem codes (RFC 9457 ``code``), with their zh-CN and en text."""

from opc_shared.problems import register_messages

register_messages(
    {
        "webhook_signature_invalid": {
            "en": ("Webhook signature refused", "The call is not signed by this vendor: {reason}. Nothing was recorded."),
            "zh-CN": ("Webhook 签名无效", "该调用未经此服务商签名：{reason}。未记录任何内容。"),
        },
        "webhook_replayed": {
            "en": ("Webhook already received", "A message with this webhook-id was already received; nothing was recorded."),
            "zh-CN": ("Webhook 重复投递", "已收到过该 webhook-id 的消息，本次未记录任何内容。"),
        },
        "vendor_suspended": {
            "en": ("Vendor suspended", "This vendor is suspended; its calls are refused."),
            "zh-CN": ("服务商已暂停", "该服务商已被暂停，其调用一律拒绝。"),
        },
        "vendor_uscc_taken": {
            "en": ("Vendor already registered", "A vendor with USCC {uscc} is already registered."),
            "zh-CN": ("服务商已登记", "统一社会信用代码为 {uscc} 的服务商已登记。"),
        },
        "invoice_conflict": {
            "en": ("Invoice number already used", "Invoice {number} was already received with other content."),
            "zh-CN": ("发票号码已使用", "发票 {number} 已以不同内容收到过。"),
        },
        "reversal_refused": {
            "en": ("Red-letter invoice refused", "{reason}"),
            "zh-CN": ("红字发票被拒绝", "{reason}"),
        },
        "pool_refused": {
            "en": ("Pool operation refused", "{reason}"),
            "zh-CN": ("资源池操作被拒绝", "{reason}"),
        },
        "period_refused": {
            "en": ("Period cannot close", "{reason}"),
            "zh-CN": ("账期无法关闭", "{reason}"),
        },
    }
)
