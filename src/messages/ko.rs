//! 한국어 (Korean).
use super::Msg;

pub(super) fn text(msg: Msg) -> &'static str {
    use Msg::*;
    match msg {
        // Every page
        CityName => "유쿠하시시",
        ServerTrouble => "죄송합니다. 문제가 발생했습니다. 잠시 후 다시 시도해 주세요.",
        NotFound => "페이지를 찾을 수 없습니다.",
        Back => "돌아가기",
        // Registration
        FieldRequired => "「{field}」을(를) 입력해 주세요.",
        // Chat
        CallTheCity => "전화 문의는 유쿠하시 시청({number})으로 해 주세요.",
        // Emergency
        EmergencyHeading => "긴급 정보",
        // Notices and surveys
        StopNotices => "알림 수신 중지",
    }
}
