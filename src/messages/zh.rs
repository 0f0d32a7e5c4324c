//! 中文 (simplified Chinese).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "行桥市",
        ServerTrouble => "抱歉，系统出现问题。请稍后再试。",
        NotFound => "未找到该页面。",
        Back => "返回",
        // Registration
        FieldRequired => "请填写“{field}”。",
        // Chat
        CallTheCity => "如需电话咨询，请致电行桥市政府（{number}）。",
        // Emergency
        EmergencyHeading => "紧急信息",
        // Notices and surveys
        StopNotices => "停止接收通知",
    }
}
